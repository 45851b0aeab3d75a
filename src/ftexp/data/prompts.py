"""Prompts without answers, for on-policy RL and self-generated (UPFT) training."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from ftexp.data.chat import token_ids
from ftexp.data.resumable import SplitLoaders, split_loader
from ftexp.data.sources import column_problems, load_rows, split_files
from ftexp.errors import DataError


class PromptDataModule(SplitLoaders, L.LightningDataModule):
    """User prompts rendered with the chat template, left-padded for generation.

    Prompts come from ``template`` filled with the values of ``column`` of a file or artifact
    (e.g. "Write a one-sentence review of the movie {movie_name}."), or from a ``prompts`` list.
    """

    def __init__(
        self,
        prompts: list[str] | None = None,
        path: str | None = None,
        artifact: Mapping[str, str] | None = None,
        column: str | None = None,
        template: str = "{}",
        val_fraction: float = 0.1,
        split_seed: int = 1234,
        max_samples: int | None = None,
        batch_size: int = 4,
        eval_batch_size: int = 8,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__()
        self.prompts, self.path, self.artifact = list(prompts or []), path, artifact
        self.column, self.template = column, template
        self.val_fraction, self.split_seed, self.max_samples = val_fraction, split_seed, max_samples
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.tokenizer = tokenizer
        self.splits: dict[str, list[str]] = {}

    def problems(self) -> list[str]:
        """Need prompts, or a source with the column the template uses."""
        if self.prompts:
            return []
        if not self.column or (self.path is None) == (self.artifact is None):
            return ["data: set data.prompts, or data.column with one of data.path/data.artifact"]
        return column_problems(split_files(self.path, self.artifact), [self.column])

    def objective_kwargs(self) -> dict[str, Any]:
        """Nothing: rewards come from the objective."""
        return {}

    def load(self) -> None:
        """Collect, deduplicate and split the prompts."""
        if self.splits:
            return
        prompts = list(self.prompts)
        if not prompts:
            files = split_files(self.path, self.artifact)
            column = str(self.column)
            values = [r.get(column) for rows in load_rows(files).values() for _, r in rows]
            prompts = [self.template.format(str(v).strip()) for v in values if v]
        prompts = list(dict.fromkeys(prompts))
        random.Random(self.split_seed).shuffle(prompts)
        n_val = max(1, round(len(prompts) * self.val_fraction))
        self.splits = {"val": prompts[:n_val], "test": prompts[:n_val], "train": prompts[n_val:]}
        if self.max_samples:
            self.splits = {k: v[: self.max_samples] for k, v in self.splits.items()}
        if not self.splits["train"]:
            raise DataError(str(self.path or self.artifact), "no prompts", fix="add prompts")

    def setup(self, stage: str | None = None) -> None:
        """Read the prompts (tokenised per batch)."""
        self.load()

    def _loader(self, split: str, batch_size: int, train: bool) -> DataLoader[Any]:
        assert self.tokenizer is not None
        return split_loader(
            self.splits[split],
            train=train,
            seed=self.split_seed,
            batch_size=batch_size,
            shuffle=train,
            collate_fn=PromptCollator(self.tokenizer),
        )


class PromptCollator:
    """Chat-template user prompts and left-pad them (generation appends on the right)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer

    def __call__(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        """Collate prompts."""
        rows = [
            token_ids(
                self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True
                )
            )
            for p in prompts
        ]
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row) :] = torch.tensor(row)
            mask[i, width - len(row) :] = 1
        return {"input_ids": ids, "attention_mask": mask}
