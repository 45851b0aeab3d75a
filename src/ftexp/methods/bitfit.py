"""BitFit: train only the bias terms of the backbone, and the task head."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ftexp.methods.base import Method, train_head_and

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask


@dataclass
class BitFit(Method):
    """Ben Zaken, Ravfogel and Goldberg 2022 (arXiv:2106.10199): biases are ~0.1% of a BERT.

    Every bias vector of the backbone trains (attention, FFN and LayerNorm biases), with the
    task head; the weight matrices stay frozen, so the saved model is the full model.

    Attributes:
        also_train: substrings of parameter names that train as well (e.g. ``pooler``).
    """

    lr: float = 1e-3
    also_train: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.also_train = list(self.also_train)

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Freeze everything but the biases, the head and ``also_train``."""
        train_head_and(model, self.also_train, lambda name: name.endswith(".bias"))
        return model
