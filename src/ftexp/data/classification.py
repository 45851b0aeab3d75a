"""Text-classification data: read, clean, split with a fixed seed, tokenize, batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler
from transformers import PreTrainedTokenizerBase

from ftexp.data.collate import PaddingCollator
from ftexp.data.readers import Row
from ftexp.data.resumable import split_loader
from ftexp.data.sampling import LengthGroupedBatchSampler
from ftexp.data.sources import (
    SPLITS,
    Source,
    column_problems,
    load_hub,
    load_rows,
    split_files,
)
from ftexp.errors import DataError

Example = tuple[str, int]


class ClassificationDataModule(L.LightningDataModule):
    """Labelled text from a pinned artifact, local csv/jsonl/parquet files, or a hub id.

    A single file is deduplicated on text, shuffled with ``split_seed`` and cut into train/val/test
    by ``val_fraction``/``test_fraction``, so every method sees exactly the same split. A mapping
    ``path: {train: ..., val: ..., test: ...}`` uses the given splits (a missing val/test is carved
    from train).
    """

    def __init__(
        self,
        path: str | Mapping[str, str] | None = None,
        artifact: Mapping[str, str] | None = None,
        hub_id: str | None = None,
        hub_config: str | None = None,
        text_column: str = "text",
        label_column: str = "label",
        labels: list[str] | None = None,
        drop_labels: list[str] | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 1234,
        max_samples: int | None = None,
        max_length: int = 128,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool = False,
        group_by_length: bool = True,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__()
        self.path, self.artifact, self.hub_id, self.hub_config = path, artifact, hub_id, hub_config
        self.text_column, self.label_column = text_column, label_column
        self.labels = [str(x) for x in labels] if labels else None
        self.drop_labels = {str(x) for x in (drop_labels or [])}
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.split_seed, self.max_samples, self.max_length = split_seed, max_samples, max_length
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.group_by_length = num_workers, group_by_length
        self.pin_memory = pin_memory
        self.tokenizer = tokenizer
        self.splits: dict[str, list[Example]] = {}
        self.encoded: dict[str, list[dict[str, Any]]] = {}

    def problems(self) -> list[str]:
        """Validate settings and file headers without loading the data."""
        issues = []
        sources = [x for x in (self.path, self.artifact, self.hub_id) if x]
        if len(sources) != 1:
            issues.append("data: set exactly one of data.path, data.artifact, data.hub_id")
        if not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1) or (
            self.val_fraction + self.test_fraction >= 1
        ):
            issues.append(
                "data.val_fraction and data.test_fraction must be in [0, 1) and sum below 1, got "
                f"{self.val_fraction} + {self.test_fraction}"
            )
        for key in ("max_length", "batch_size", "eval_batch_size"):
            if getattr(self, key) <= 0:
                issues.append(f"data.{key} must be > 0, got {getattr(self, key)}")
        if self.max_samples is not None and self.max_samples <= 0:
            issues.append(f"data.max_samples must be > 0 or null, got {self.max_samples}")
        if self.labels is not None and len(self.labels) < 2:
            issues.append(f"data.labels needs at least two classes, got {self.labels}")
        if len(sources) == 1 and not self.hub_id:
            try:
                files = split_files(self.path, self.artifact)
            except Exception as err:  # an unreachable artifact is a config-time problem too
                return [*issues, f"data: {err}"]
            issues += column_problems(files, [self.text_column, self.label_column])
        return issues

    @property
    def num_labels(self) -> int:
        """Number of classes (after ``load``)."""
        return len(self.label_names)

    @property
    def label_names(self) -> list[str]:
        """Class names, index = class id (after ``load``)."""
        if self.labels is None:
            raise RuntimeError("call load() first")
        return self.labels

    def objective_kwargs(self) -> dict[str, Any]:
        """What the objective needs from the data: the class names (after ``load``)."""
        return {"labels": self.label_names}

    def load(self) -> None:
        """Read, clean and split the data (idempotent; cheap compared to model loading)."""
        if self.splits:
            return
        if self.hub_id:
            source: Source = load_hub(self.hub_id, self.hub_config)
            origin = self.hub_id
        else:
            files = split_files(self.path, self.artifact)
            source, origin = load_rows(files), ", ".join(str(f) for f in files.values())
        if self.labels is None:
            self.labels = _infer_labels(source, self.label_column, self.drop_labels)
        examples = {name: self._examples(rows, origin) for name, rows in source.items()}
        self.splits = self._split(examples)
        for name, split in self.splits.items():
            if not split:
                raise DataError(origin, f"the {name} split is empty", fix="add rows or fractions")

    def setup(self, stage: str | None = None) -> None:
        """Load and tokenize every split once."""
        self.load()
        if self.encoded:
            return
        if self.tokenizer is None:
            raise RuntimeError("ClassificationDataModule needs a tokenizer")
        for name, examples in self.splits.items():
            texts = [text for text, _ in examples]
            ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
            labels = [label for _, label in examples]
            self.encoded[name] = [
                {"input_ids": i, "labels": y} for i, y in zip(ids, labels, strict=True)
            ]

    def _examples(self, rows: list[Row], origin: str) -> list[Example]:
        assert self.labels is not None
        index = {name: i for i, name in enumerate(self.labels)}
        out = []
        for line, record in rows:
            for column in (self.text_column, self.label_column):
                if column not in record:
                    raise DataError(
                        origin,
                        f"record has no column {column!r}",
                        line=line,
                        fix="set data.text_column / data.label_column",
                    )
            text, raw = record[self.text_column], record[self.label_column]
            if raw is None or str(raw) in self.drop_labels:
                continue
            label = index.get(str(raw))
            if label is None and _is_int(raw) and 0 <= int(raw) < len(self.labels):
                label = int(raw)
            if label is None:
                raise DataError(
                    origin,
                    f"label {raw!r} is not one of {self.labels}",
                    line=line,
                    fix="add it to data.labels or data.drop_labels, or fix the row",
                )
            if isinstance(text, str) and text.strip():
                out.append((text.strip(), label))
        return out

    def _split(self, examples: dict[str, list[Example]]) -> dict[str, list[Example]]:
        rng = np.random.default_rng(self.split_seed)
        pool = _dedupe(examples.pop("all", []) or examples.get("train", []))
        pool = [pool[i] for i in rng.permutation(len(pool))]
        n_val = 0 if "val" in examples else round(len(pool) * self.val_fraction)
        n_test = 0 if "test" in examples else round(len(pool) * self.test_fraction)
        splits = {
            "val": examples.get("val") or pool[:n_val],
            "test": examples.get("test") or pool[n_val : n_val + n_test],
            "train": pool[n_val + n_test :],
        }
        if self.max_samples:
            splits = {k: v[: self.max_samples] for k, v in splits.items()}
        return {k: splits[k] for k in SPLITS}

    def _loader(
        self, data: list[dict[str, Any]], train: bool = False, **batching: Any
    ) -> DataLoader[Any]:
        assert self.tokenizer is not None
        return split_loader(
            data,
            train=train,
            seed=self.split_seed,
            collate_fn=PaddingCollator(self.tokenizer.pad_token_id or 0),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            **batching,
        )

    def train_dataloader(self) -> DataLoader[Any]:
        """Shuffled (optionally length-grouped) training batches with dynamic padding."""
        data = self.encoded["train"]
        if self.group_by_length:
            lengths = [len(x["input_ids"]) for x in data]
            grouped = LengthGroupedBatchSampler(lengths, self.batch_size, self.split_seed)
            return self._loader(data, train=True, batch_sampler=grouped)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            shard = DistributedSampler(data, seed=self.split_seed)  # type: ignore[var-annotated,arg-type]
            return self._loader(data, train=True, batch_size=self.batch_size, sampler=shard)
        return self._loader(data, train=True, batch_size=self.batch_size, shuffle=True)

    def _eval_loader(self, split: str) -> DataLoader[Any]:
        # evaluation order does not matter: sort by length to cut padding
        data = sorted(self.encoded[split], key=lambda x: len(x["input_ids"]))
        return self._loader(data, batch_size=self.eval_batch_size)

    def val_dataloader(self) -> DataLoader[Any]:
        """Validation batches, length-sorted."""
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader[Any]:
        """Test batches, length-sorted."""
        return self._eval_loader("test")


def _is_int(value: Any) -> bool:
    try:
        return float(value) == int(float(value))
    except (TypeError, ValueError):
        return False


def _dedupe(examples: list[Example]) -> list[Example]:
    seen: set[str] = set()
    out = []
    for text, label in examples:
        if text not in seen:
            seen.add(text)
            out.append((text, label))
    return out


def _infer_labels(source: Source, column: str, drop: set[str]) -> list[str]:
    values = {str(r[column]) for rows in source.values() for _, r in rows if column in r}
    return sorted(values - drop)
