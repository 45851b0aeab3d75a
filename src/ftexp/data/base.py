"""The one data foundation: read -> dedupe -> disjoint seeded split -> cap -> encode once.

Every data option subclasses ``FinetuneData`` and only says how to read its examples, how to
encode one, and how to collate a batch; splitting, deduplication, capping, empty-split errors
and (in ``ftexp.data.module``) rank-sharded, resumable loaders live here once. This module
imports nothing heavy, so a data config is checked before torch loads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ftexp.contract import SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.errors import DataError

SPLITS = ("train", "val", "test")


class TokenLimited:
    """Mixed into text data that cuts each sequence at ``max_length`` tokens.

    The model must have a position for every one of them.
    """

    max_length: int

    def model_problems(self, model: Mapping[str, Any]) -> list[str]:
        """``max_length`` against the model's position embeddings."""
        return position_problems("data.max_length", self.max_length, model)


def position_problems(key: str, length: int, model: Mapping[str, Any]) -> list[str]:
    """A sequence length (the setting ``key``) against the model's position embeddings."""
    limit = model.get("max_position_embeddings")
    if isinstance(limit, int) and length > limit:
        return [
            f"{key}={length} exceeds the model's {limit} position embeddings "
            f"(max_position_embeddings in its config); set {key}<={limit}"
        ]
    return []


# what turns a list of encoded examples into one batch of named fields
Collate = Callable[[list[Any]], Mapping[str, Any]]


@dataclass
class FinetuneData:
    """Shared settings and the split pipeline; subclasses implement the hooks below.

    Attributes:
        val_fraction / test_fraction: shares of a single source carved out for val and test
            (a source that brings its own split keeps it).
        split_seed: seed of the split and of the training order; the same for every method.
        max_samples: cap on every split (quick experiments); ``null`` keeps all.
        train_samples: cap on the training split only (val and test stay whole: a small
            training budget still scored on the full test split); ``null`` keeps all.
        batch_size / eval_batch_size: examples per step on each rank.
        group_by_length: training batches of similar length (less padding).
        num_workers / pin_memory: DataLoader settings.
    """

    # batch fields this data yields (checked against the objective's needs at config time)
    provides: ClassVar[frozenset[str]] = frozenset()
    # how a classifier of this data's modality is built (``objective=classify``)
    classifier_task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION

    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 1234
    max_samples: int | None = None
    train_samples: int | None = None
    batch_size: int = 32
    eval_batch_size: int = 128
    group_by_length: bool = False
    num_workers: int = 0
    pin_memory: bool = False
    processor: Any = field(default=None, init=False, repr=False)
    splits: dict[str, list[Any]] = field(default_factory=dict, init=False, repr=False)
    encoded: dict[str, list[Any]] = field(default_factory=dict, init=False, repr=False)
    dropped: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    # ---- hooks for subclasses -------------------------------------------------------------
    def model_problems(self, model: Mapping[str, Any]) -> list[str]:
        """Problems between these settings and the model's config values, before weights load.

        ``model`` is ``ModelSpec.config_values()`` (``vocab_size``,
        ``max_position_embeddings``...; empty where the config cannot be read offline).
        """
        return []

    def source_problems(self) -> list[str]:
        """Problems of the source settings (files, columns), found without reading all rows."""
        return []

    def read(self) -> dict[str, list[Any]]:
        """Examples by split: ``{"all": [...]}`` for one source, or given ``train/val/test``."""
        raise NotImplementedError

    def origin(self) -> str:
        """Where the examples come from, for error messages."""
        return type(self).__name__

    def key(self, example: Any) -> Hashable:
        """What makes two examples the same (deduplication, split disjointness)."""
        return example

    def encode(self, example: Any) -> Any:
        """Encode one example with ``self.processor``."""
        return example

    def encode_split(self, examples: list[Any]) -> list[Any]:
        """Encode a whole split (override to batch the processor call)."""
        return [self.encode(x) for x in examples]

    def finish_train(self, encoded: list[Any]) -> list[Any]:
        """Last step on the encoded training split (e.g. packing)."""
        return encoded

    def length(self, encoded: Any) -> int:
        """Size of an encoded example, for length grouping and length-sorted evaluation."""
        return len(encoded["input_ids"]) if isinstance(encoded, dict) else 1

    def text_of(self, example: Any) -> str | None:
        """The raw text of an example (vocabulary from data, masked-LM on it); None: not text."""
        return None

    def label_of(self, example: Any) -> Hashable | None:
        """The class of an example, for labelled data (at least two must be in train)."""
        return None

    def relabel(self, example: Any, label: int) -> Any:
        """The example with another class id (mapping an eval set onto a model's classes)."""
        raise NotImplementedError(f"{type(self).__name__} examples carry no class to map")

    def prompt_of(self, example: Any) -> list[dict[str, str]]:
        """The chat messages an example's reply answers (data that ``provides`` ``prompt``)."""
        raise NotImplementedError(f"{type(self).__name__} examples carry no prompt")

    def example_fields(self) -> list[str]:
        """The fields each example carries to the rewards (RL prompts; none by default)."""
        return []

    @property
    def varies_per_draw(self) -> bool:
        """Training examples change each time they are drawn.

        The train collator then gets ``(example, draw)`` pairs, the draw being
        ``epoch * size + index``.
        """
        return False

    def collator(self, train: bool) -> Collate:
        """The batch collate function (imports torch)."""
        raise NotImplementedError

    def class_names(self) -> list[str] | None:
        """Class names (index = class id) for labelled data (after ``load``), else None."""
        return None

    def stated_class_names(self) -> list[str] | None:
        """The class names the config states, before any row is read (None: not stated)."""
        return None

    # ---- the shared pipeline --------------------------------------------------------------
    def problems(self) -> list[str]:
        """Validate the shared settings, then the source (headers only)."""
        issues = []
        fractions = (self.val_fraction, self.test_fraction)
        if not all(0 <= f < 1 for f in fractions) or sum(fractions) >= 1:
            issues.append(
                "data.val_fraction and data.test_fraction must be in [0, 1) and sum below 1, got "
                f"{self.val_fraction} + {self.test_fraction}"
            )
        for key in ("batch_size", "eval_batch_size"):
            if getattr(self, key) <= 0:
                issues.append(f"data.{key} must be > 0, got {getattr(self, key)}")
        if self.num_workers < 0:
            issues.append(f"data.num_workers must be >= 0, got {self.num_workers}")
        for key in ("max_samples", "train_samples"):
            if getattr(self, key) is not None and getattr(self, key) <= 0:
                issues.append(f"data.{key} must be > 0 or null, got {getattr(self, key)}")
        return issues + self.source_problems()

    @property
    def pad_id(self) -> int:
        """The processor's padding token id (0 for a tokenizer without one)."""
        pad = self.processor.pad_token_id
        return pad if pad is not None else 0

    def connect(self, processor: Any) -> None:
        """Hand over the processor (tokenizer, image processor) that ``encode`` uses."""
        self.processor = processor

    def load(self) -> None:
        """Read, deduplicate and split (idempotent; no processor needed)."""
        if self.splits:
            return
        source = self.read()
        self.splits = self._split(source)
        for name in SPLITS:
            if not self.splits[name]:
                raise DataError(
                    self.origin(),
                    f"the {name} split is empty ({self._sizes()})",
                    fix="add rows, or raise data.val_fraction / data.test_fraction",
                )
        classes = {self.label_of(x) for x in self.splits["train"]} - {None}
        if len(classes) == 1:
            only, names = classes.pop(), self.class_names()
            label = names[only] if names and isinstance(only, int) else only
            raise DataError(
                self.origin(),
                f"the training split has a single class ({label!r}): nothing to learn",
                fix="add rows of the other classes, or check data.label_column / data.drop_labels",
            )

    def train_texts(self) -> list[str]:
        """The raw texts of the training split (after ``load``); empty for data without text."""
        texts = (self.text_of(x) for x in self.splits["train"])
        return [t for t in texts if t]

    def setup(self) -> None:
        """Load, then encode every split once."""
        self.load()
        if self.encoded:
            return
        if self.processor is None:
            raise RuntimeError(f"{type(self).__name__}.connect(processor) was not called")
        for name in SPLITS:
            self.encoded[name] = self.encode_split(self.splits[name])
        self.encoded["train"] = self.finish_train(self.encoded["train"])

    def replace_train_examples(self, encoded: list[Any]) -> None:
        """Swap the encoded training split for new examples (self-generated data, UPFT)."""
        self.encoded["train"][:] = self.finish_train(encoded)

    def _split(self, source: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Dedupe, then split so that no example is in two splits."""
        given = {name: self._dedupe(source[name]) for name in SPLITS if source.get(name)}
        pool = self._dedupe(source.get("all", [])) if "all" in source else given.pop("train", [])
        rng = np.random.default_rng(self.split_seed)
        pool = [pool[i] for i in rng.permutation(len(pool))]
        n_val = 0 if "val" in given else round(len(pool) * self.val_fraction)
        n_test = 0 if "test" in given else round(len(pool) * self.test_fraction)
        splits = {
            "val": given.get("val") or pool[:n_val],
            "test": given.get("test") or pool[n_val : n_val + n_test],
            "train": pool[n_val + n_test :],
        }
        splits = self._disjoint(splits)
        if self.max_samples:
            splits = {k: v[: self.max_samples] for k, v in splits.items()}
        if self.train_samples:
            splits["train"] = splits["train"][: self.train_samples]
        return {k: splits[k] for k in SPLITS}

    def _dedupe(self, examples: list[Any]) -> list[Any]:
        seen: set[Hashable] = set()
        out = []
        for example in examples:
            key = self.key(example)
            if key not in seen:
                seen.add(key)
                out.append(example)
        self.dropped["duplicates"] = self.dropped.get("duplicates", 0) + len(examples) - len(out)
        return out

    def _disjoint(self, splits: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Given splits may overlap (a val file repeating train rows): test wins, then val."""
        held: set[Hashable] = set()
        out: dict[str, list[Any]] = {}
        for name in ("test", "val", "train"):
            kept = [x for x in splits[name] if self.key(x) not in held]
            self.dropped[f"{name}_overlap"] = len(splits[name]) - len(kept)
            held |= {self.key(x) for x in kept}
            out[name] = kept
        return out

    def _sizes(self) -> str:
        return ", ".join(f"{k}: {len(v)}" for k, v in self.splits.items())


# a data option as the checks see it: its class (what it provides) or a built instance
DataOption = FinetuneData | type[FinetuneData]
