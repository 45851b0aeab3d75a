"""Frozen-layer tuning: train only the top-k transformer blocks and the task head."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ftexp.methods.base import train_head_and
from ftexp.methods.layerwise import LayerwiseLR
from ftexp.utils.params import below_blocks, transformer_blocks

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask


@dataclass
class Freeze(LayerwiseLR):
    """Keep the lower layers frozen (Howard & Ruder 2018; Lee et al. 2019, arXiv:1911.03090).

    Attributes:
        top_k: number of top transformer blocks that train; 0 trains the head alone (a linear
            probe on frozen features).
        train_embeddings: also train what lies below the first block (embeddings, a CNN's stem).
        also_train: substrings of parameter names that train as well (e.g. ``pooler``).
    """

    top_k: int = 2
    train_embeddings: bool = False
    also_train: list[str] = field(default_factory=lambda: ["pooler"])

    def __post_init__(self) -> None:
        self.also_train = list(self.also_train)

    def problems(self) -> list[str]:
        """Check ``top_k``."""
        issues = super().problems()
        if self.top_k < 0:
            issues.append(f"method.top_k must be >= 0, got {self.top_k}")
        return issues

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Freeze everything but the head and ``also_train``, then open the top blocks."""
        blocks = transformer_blocks(model)
        if self.top_k > len(blocks):
            raise ValueError(
                f"method.top_k={self.top_k} but the model has only {len(blocks)} blocks; "
                f"use method.top_k<={len(blocks)} or method=full"
            )
        below = below_blocks(model) if self.train_embeddings else set()
        train_head_and(model, self.also_train, lambda name: name in below)
        for block in list(blocks)[len(blocks) - self.top_k :]:
            block.requires_grad_(True)
        return model
