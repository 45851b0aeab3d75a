"""Random token sequences of a fixed length: the data of throughput benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.data.base import Collate, FinetuneData, position_problems


@dataclass
class SyntheticTokensData(FinetuneData):
    """Uniform random token ids; every position is a target.

    Loss cannot fall below ``log(vocab_size)`` on such data, so use it for speed and memory,
    never for quality. Each split is drawn from ``seed`` (train, then val, then test).
    """

    provides: ClassVar[frozenset[str]] = frozenset({"input_ids", "labels"})

    vocab_size: int = 32000
    seq_len: int = 2048
    train_samples: int = 256
    eval_samples: int = 8
    batch_size: int = 4
    eval_batch_size: int = 4
    seed: int = 0

    def source_problems(self) -> list[str]:
        """Check sizes."""
        names = ("vocab_size", "seq_len", "train_samples", "eval_samples")
        return [
            f"data.{k} must be > 0, got {getattr(self, k)}" for k in names if getattr(self, k) <= 0
        ]

    def model_problems(self, model: Mapping[str, Any]) -> list[str]:
        """The drawn token ids and the rows' length against the model's config."""
        issues = position_problems("data.seq_len", self.seq_len, model)
        vocabulary = model.get("vocab_size")
        if isinstance(vocabulary, int) and self.vocab_size > vocabulary:
            issues.append(
                f"data.vocab_size={self.vocab_size} exceeds the model's vocabulary of "
                f"{vocabulary} tokens; set data.vocab_size<={vocabulary}"
            )
        return issues

    def read(self) -> dict[str, list[tuple[int, ...]]]:
        """Random rows of ``seq_len`` tokens per split (the draw ``bench/`` repeats)."""
        import torch

        generator = torch.Generator().manual_seed(self.seed)
        sizes = {"train": self.train_samples, "val": self.eval_samples, "test": self.eval_samples}
        return {
            split: [
                tuple(row)
                for row in torch.randint(
                    0, self.vocab_size, (n, self.seq_len), generator=generator
                ).tolist()
            ]
            for split, n in sizes.items()
        }

    def encode(self, example: tuple[int, ...]) -> dict[str, list[int]]:
        """The row is its own target."""
        return {"input_ids": list(example)}

    def collator(self, train: bool) -> Collate:
        """Stack the fixed-length rows."""
        from ftexp.data.collate import lm_batch

        return lm_batch
