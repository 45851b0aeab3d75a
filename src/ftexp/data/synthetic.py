"""Random token sequences of a fixed length: the data of throughput benchmarks."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset
from transformers import PreTrainedTokenizerBase

from ftexp.data.resumable import SplitLoaders, split_loader


class SyntheticTokensDataModule(SplitLoaders, L.LightningDataModule):
    """Uniform random token ids; every position is a target.

    Loss cannot fall below ``log(vocab_size)`` on such data, so use it for speed and memory,
    never for quality.
    """

    def __init__(
        self,
        vocab_size: int = 32000,
        seq_len: int = 2048,
        train_samples: int = 256,
        eval_samples: int = 8,
        batch_size: int = 4,
        eval_batch_size: int = 4,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__()
        self.vocab_size, self.seq_len, self.seed = vocab_size, seq_len, seed
        self.sizes = {"train": train_samples, "val": eval_samples, "test": eval_samples}
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.tokenizer = tokenizer
        self.splits: dict[str, TensorDataset] = {}

    def problems(self) -> list[str]:
        """Check sizes."""
        names = ("vocab_size", "seq_len", "batch_size", "eval_batch_size")
        issues = [f"data.{k} must be > 0" for k in names if getattr(self, k) <= 0]
        issues += [f"data.{k}_samples must be > 0" for k, n in self.sizes.items() if n <= 0]
        return issues

    def objective_kwargs(self) -> dict[str, Any]:
        """Nothing beyond the batches: the targets are the inputs."""
        return {}

    def load(self) -> None:
        """Draw every split from the seed."""
        generator = torch.Generator().manual_seed(self.seed)
        for split, n in self.sizes.items():
            ids = torch.randint(0, self.vocab_size, (n, self.seq_len), generator=generator)
            self.splits[split] = TensorDataset(ids)

    def setup(self, stage: str | None = None) -> None:
        """Build the splits once."""
        if not self.splits:
            self.load()

    def _loader(self, split: str, batch_size: int, train: bool) -> DataLoader[Any]:
        return split_loader(
            self.splits[split],
            train=train,
            seed=self.seed,
            batch_size=batch_size,
            shuffle=train,
            collate_fn=_as_lm_batch,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )


def _as_lm_batch(rows: list[tuple[torch.Tensor]]) -> dict[str, torch.Tensor]:
    ids = torch.stack([row[0] for row in rows])
    return {"input_ids": ids, "labels": ids.clone()}
