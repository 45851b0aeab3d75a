"""Raw text for masked-LM domain adaptation: read a column, split, tokenize, mask 15%."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from ftexp.data.resumable import SplitLoaders, split_loader
from ftexp.data.sources import column_problems, load_rows, split_files
from ftexp.errors import DataError

IGNORE = -100


def mask_tokens(
    ids: torch.Tensor,
    tokenizer: PreTrainedTokenizerBase,
    probability: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: pick ``probability`` of the real tokens; 80% [MASK], 10% random, 10% kept.

    Returns ``(inputs, labels)``; labels are -100 except at picked positions. Special and
    padding tokens are never picked.
    """
    special = torch.tensor(
        [
            tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
            for row in ids.tolist()
        ],
        dtype=torch.bool,
    )
    picked = (torch.rand(ids.shape, generator=generator) < probability) & ~special
    labels = torch.where(picked, ids, torch.full_like(ids, IGNORE))
    inputs = ids.clone()
    roll = torch.rand(ids.shape, generator=generator)
    inputs[picked & (roll < 0.8)] = int(tokenizer.mask_token_id)
    swap = picked & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = torch.randint(len(tokenizer), ids.shape, generator=generator)[swap]
    return inputs, labels


class MaskingCollator:
    """Pad, then mask (fresh masks each time for training, fixed by ``seed`` for evaluation)."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, probability: float, seed: int | None
    ) -> None:
        self.tokenizer, self.probability, self.seed = tokenizer, probability, seed

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate and mask."""
        width = max(len(x["input_ids"]) for x in batch)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, example in enumerate(batch):
            ids[row, : len(example["input_ids"])] = torch.tensor(example["input_ids"])
            mask[row, : len(example["input_ids"])] = 1
        generator = None
        if self.seed is not None:  # evaluation: the same masks every time
            generator = torch.Generator().manual_seed(self.seed + int(ids.sum()))
        inputs, labels = mask_tokens(ids, self.tokenizer, self.probability, generator)
        labels[mask == 0] = IGNORE
        return {"input_ids": inputs, "attention_mask": mask, "labels": labels}


class TextDataModule(SplitLoaders, L.LightningDataModule):
    """Unlabelled in-domain text (one column of a file or artifact) for masked-LM training."""

    def __init__(
        self,
        path: str | None = None,
        artifact: Mapping[str, str] | None = None,
        text_column: str = "text",
        mlm_probability: float = 0.15,
        val_fraction: float = 0.05,
        split_seed: int = 1234,
        max_samples: int | None = None,
        max_length: int = 128,
        batch_size: int = 32,
        eval_batch_size: int = 64,
        num_workers: int = 0,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__()
        self.path, self.artifact, self.text_column = path, artifact, text_column
        self.mlm_probability, self.val_fraction = mlm_probability, val_fraction
        self.split_seed, self.max_samples, self.max_length = split_seed, max_samples, max_length
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers = num_workers
        self.tokenizer = tokenizer
        self.splits: dict[str, list[str]] = {}
        self.encoded: dict[str, list[dict[str, Any]]] = {}

    def problems(self) -> list[str]:
        """Validate settings and the text column."""
        issues = []
        if not 0 < self.mlm_probability < 1:
            issues.append(f"data.mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if (self.path is None) == (self.artifact is None):
            return [*issues, "data: set exactly one of data.path, data.artifact"]
        return issues + column_problems(split_files(self.path, self.artifact), [self.text_column])

    def objective_kwargs(self) -> dict[str, Any]:
        """Nothing: labels come from masking."""
        return {}

    def load(self) -> None:
        """Read, deduplicate and split the texts."""
        if self.splits:
            return
        files = split_files(self.path, self.artifact)
        texts = [
            str(r[self.text_column]).strip()
            for rows in load_rows(files).values()
            for _, r in rows
            if r.get(self.text_column)
        ]
        texts = list(dict.fromkeys(t for t in texts if t))
        random.Random(self.split_seed).shuffle(texts)
        n_val = max(1, round(len(texts) * self.val_fraction))
        self.splits = {"val": texts[:n_val], "test": texts[:n_val], "train": texts[n_val:]}
        if self.max_samples:
            self.splits = {k: v[: self.max_samples] for k, v in self.splits.items()}
        if not self.splits["train"]:
            raise DataError(", ".join(map(str, files.values())), "no training text", fix="add rows")

    def setup(self, stage: str | None = None) -> None:
        """Tokenize once."""
        self.load()
        if self.encoded:
            return
        if self.tokenizer is None or self.tokenizer.mask_token_id is None:
            raise RuntimeError("TextDataModule needs a tokenizer with a mask token")
        for name, texts in self.splits.items():
            ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
            self.encoded[name] = [{"input_ids": i} for i in ids]

    def _loader(self, split: str, batch_size: int, train: bool) -> DataLoader[Any]:
        assert self.tokenizer is not None
        collate = MaskingCollator(
            self.tokenizer, self.mlm_probability, None if train else self.split_seed
        )
        return split_loader(
            self.encoded[split],
            train=train,
            seed=self.split_seed,
            batch_size=batch_size,
            shuffle=train,
            collate_fn=collate,
            num_workers=self.num_workers,
        )
