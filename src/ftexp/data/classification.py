"""Text-classification data: read, clean, split with a fixed seed, tokenize, batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftexp.data.augment import augment_problems
from ftexp.data.base import Collate, FinetuneData, TokenLimited
from ftexp.data.readers import Row
from ftexp.data.sources import (
    Source,
    column_problems,
    load_hub,
    load_rows,
    source_choice_problem,
    split_files,
)
from ftexp.errors import DataError

Example = tuple[str, int]


@dataclass
class ClassificationData(TokenLimited, FinetuneData):
    """Labelled text from a pinned artifact, local csv/jsonl/parquet files, or a hub id.

    A single file is deduplicated on text, shuffled with ``split_seed`` and cut into train/val/test
    by ``val_fraction``/``test_fraction``, so every method sees exactly the same split. A mapping
    ``path: {train: ..., val: ..., test: ...}`` uses the given splits (a missing val/test is carved
    from train); rows repeated across given splits are kept in one split only.

    Attributes:
        text_column / label_column: the columns read.
        labels: class names, index = class id (``null``: the sorted distinct values).
        drop_labels: label values whose rows are skipped (e.g. plot synopses).
        max_length: tokens per example.
        skip_empty: skip rows whose text is empty (counted in ``metrics.json``) instead of
            refusing the file.
        augment: per-word probabilities of EDA operations on training texts, e.g.
            ``{swap: 0.1, delete: 0.1, insert: 0.1}`` (``null``: off).
    """

    provides: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "label"})

    path: str | dict[str, str] | None = None
    artifact: dict[str, str] | None = None
    hub_id: str | None = None
    hub_config: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    labels: list[str] | None = None
    drop_labels: list[str] = field(default_factory=list)
    max_length: int = 128
    group_by_length: bool = True
    skip_empty: bool = False
    augment: dict[str, float] | None = None

    def __post_init__(self) -> None:
        self.labels = [str(x) for x in self.labels] if self.labels else None
        self.drop_labels = [str(x) for x in self.drop_labels]

    def source_problems(self) -> list[str]:
        """Validate the source and file headers without loading the data."""
        issues = []
        choice = source_choice_problem(path=self.path, artifact=self.artifact, hub_id=self.hub_id)
        if choice:
            issues.append(choice)
        if self.max_length <= 0:
            issues.append(f"data.max_length must be > 0, got {self.max_length}")
        if self.labels is not None and len(self.labels) < 2:
            issues.append(f"data.labels needs at least two classes, got {self.labels}")
        issues += augment_problems(self.augment)
        if choice is None and not self.hub_id:
            try:
                files = split_files(self.path, self.artifact)
            except Exception as err:  # an unreachable artifact is a config-time problem too
                return [*issues, f"data: {err}"]
            issues += column_problems(files, [self.text_column, self.label_column])
        return issues

    def stated_class_names(self) -> list[str] | None:
        """``data.labels`` where the config names the classes."""
        return self.labels

    def class_names(self) -> list[str]:
        """Class names, index = class id (after ``load`` when inferred from the data)."""
        if self.labels is None:
            raise RuntimeError("call load() first")
        return self.labels

    def origin(self) -> str:
        """The file(s) or hub id the rows come from."""
        if self.hub_id:
            return self.hub_id
        return ", ".join(str(f) for f in split_files(self.path, self.artifact).values())

    def read(self) -> dict[str, list[Example]]:
        """Rows of every source split as (text, class id)."""
        if self.hub_id:
            source: Source = load_hub(self.hub_id, self.hub_config)
        else:
            source = load_rows(split_files(self.path, self.artifact))
        if self.labels is None:
            self.labels = _infer_labels(source, self.label_column, set(self.drop_labels))
        return {name: self._examples(rows) for name, rows in source.items()}

    def key(self, example: Example) -> str:
        """The text: a snippet repeated with another label is still one example."""
        return example[0]

    def encode_split(self, examples: list[Example]) -> list[dict[str, Any]]:
        """Tokenize the split in one call (the tokenizer batches internally)."""
        texts = [text for text, _ in examples]
        ids = self.processor(texts, truncation=True, max_length=self.max_length)["input_ids"]
        keep = {"text": texts} if self.varies_per_draw else {}  # augmented from the raw text
        return [
            {"input_ids": i, "label": y, **{k: v[n] for k, v in keep.items()}}
            for n, (i, (_, y)) in enumerate(zip(ids, examples, strict=True))
        ]

    @property
    def varies_per_draw(self) -> bool:
        """Augmented training texts differ each time they are drawn."""
        return any(float(p) > 0 for p in (self.augment or {}).values())

    def collator(self, train: bool) -> Collate:
        """Dynamic padding to the longest example of the batch (augmenting, when set, in train)."""
        from ftexp.data.collate import AugmentingCollator, PaddingCollator

        padding = PaddingCollator(self.pad_id)
        if train and self.varies_per_draw:
            assert self.augment is not None
            return AugmentingCollator(
                padding, self.processor, self.max_length, self.augment, self.split_seed
            )
        return padding

    def _examples(self, rows: list[Row]) -> list[Example]:
        labels = self.class_names()
        index = {name: i for i, name in enumerate(labels)}
        drop = set(self.drop_labels)
        out = []
        for line, record in rows:
            for column in (self.text_column, self.label_column):
                if column not in record:
                    raise DataError(
                        self.origin(),
                        f"record has no column {column!r}",
                        line=line,
                        fix="set data.text_column / data.label_column",
                    )
            text, raw = record[self.text_column], record[self.label_column]
            if raw is None or str(raw) in drop:
                continue
            label = index.get(str(raw))
            if label is None and _is_int(raw) and 0 <= int(raw) < len(labels):
                label = int(raw)
            if label is None:
                raise DataError(
                    self.origin(),
                    f"label {raw!r} is not one of {labels}",
                    line=line,
                    fix="add it to data.labels or data.drop_labels, or fix the row",
                )
            if not isinstance(text, str) or not text.strip():
                if not self.skip_empty:
                    raise DataError(
                        self.origin(),
                        f"the {self.text_column!r} cell is empty",
                        line=line,
                        fix="fill or delete the row, or set data.skip_empty=true to skip such rows",
                    )
                self.dropped["empty"] = self.dropped.get("empty", 0) + 1
                continue
            out.append((text.strip(), label))
        return out

    def text_of(self, example: Example) -> str:
        """The text of an example."""
        return example[0]

    def relabel(self, example: Example, label: int) -> Example:
        """The text with class id ``label``."""
        return example[0], label

    def label_of(self, example: Example) -> int:
        """The class id of an example."""
        return example[1]


def _is_int(value: Any) -> bool:
    try:
        return float(value) == int(float(value))
    except (TypeError, ValueError):
        return False


def _infer_labels(source: Source, column: str, drop: set[str]) -> list[str]:
    values = {str(r[column]) for rows in source.values() for _, r in rows if column in r}
    return sorted(values - drop)
