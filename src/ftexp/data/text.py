"""Raw text for masked-LM domain adaptation: one column of a file, split, tokenized, masked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.data.base import Collate, FinetuneData, TokenLimited
from ftexp.data.sources import column_problems, load_rows, source_choice_problem, split_files
from ftexp.errors import DataError


@dataclass
class TextData(TokenLimited, FinetuneData):
    """Unlabelled in-domain text (one column of a file or artifact) for masked-LM training.

    Masks are drawn afresh for every training batch and fixed (by the seed) for evaluation.

    Attributes:
        text_column: the column read.
        mlm_probability: share of real tokens picked (80% [MASK], 10% random, 10% kept).
        max_length: tokens per text.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "mlm_labels"})

    path: str | None = None
    artifact: dict[str, str] | None = None
    text_column: str = "text"
    mlm_probability: float = 0.15
    max_length: int = 128
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    eval_batch_size: int = 64

    def source_problems(self) -> list[str]:
        """Validate settings and the text column."""
        issues = []
        if not 0 < self.mlm_probability < 1:
            issues.append(f"data.mlm_probability must be in (0, 1), got {self.mlm_probability}")
        choice = source_choice_problem(path=self.path, artifact=self.artifact)
        if choice:
            return [*issues, choice]
        return issues + column_problems(split_files(self.path, self.artifact), [self.text_column])

    def origin(self) -> str:
        """The file the texts come from."""
        return ", ".join(map(str, split_files(self.path, self.artifact).values()))

    def read(self) -> dict[str, list[str]]:
        """Every non-empty text."""
        files = split_files(self.path, self.artifact)
        texts = [
            str(r[self.text_column]).strip()
            for rows in load_rows(files).values()
            for _, r in rows
            if r.get(self.text_column)
        ]
        return {"all": [t for t in texts if t]}

    def text_of(self, example: str) -> str:
        """The text itself."""
        return example

    def encode_split(self, examples: list[str]) -> list[dict[str, Any]]:
        """Tokenize the split in one call."""
        if self.processor.mask_token_id is None:
            raise RuntimeError("masked-LM data needs a tokenizer with a mask token")
        ids = self.processor(examples, truncation=True, max_length=self.max_length)["input_ids"]
        special = set(self.processor.all_special_ids)  # [UNK] among them: never masked
        maskable = sum(t not in special for row in ids for t in row)
        if examples and maskable < 0.01 * sum(map(len, ids)):
            raise DataError(
                self.origin(),
                f"{maskable} of {sum(map(len, ids))} tokens are maskable: nearly every token is "
                "special or [UNK] for this tokenizer, so there is nothing to predict",
                fix="extend the vocabulary (model.extend_vocab=from_data or a vocabulary file) "
                "or pick a model whose tokenizer covers this script",
            )
        return [{"input_ids": i} for i in ids]

    def collator(self, train: bool) -> Collate:
        """Pad, then mask (fresh masks in training, seeded masks in evaluation)."""
        from ftexp.data.collate import MaskingCollator

        return MaskingCollator(
            self.processor, self.mlm_probability, None if train else self.split_seed
        )


@dataclass
class TextOf(TextData):
    """The texts of another data option, in that option's own train/val/test splits.

    Masked-LM adaptation on a labelled dataset's text (labels unused) then never trains on the
    texts that the classifier is later validated and tested on.

    Attributes:
        source: the data option whose texts are read (e.g. ``sentiment_zh``).
    """

    source: Any = None

    def source_problems(self) -> list[str]:
        """The masking share, and the source's own problems."""
        issues = []
        if not 0 < self.mlm_probability < 1:
            issues.append(f"data.mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if self.source is None or not callable(getattr(self.source, "text_of", None)):
            return [*issues, "data.source must be a data option with text (e.g. sentiment_zh)"]
        return issues + [f"data.source: {p}" for p in self.source.problems()]

    def origin(self) -> str:
        """Where the source's examples come from."""
        return str(self.source.origin())

    def read(self) -> dict[str, list[str]]:
        """The source's splits as texts."""
        self.source.load()
        return {
            name: [t for t in map(self.source.text_of, examples) if t]
            for name, examples in self.source.splits.items()
        }
