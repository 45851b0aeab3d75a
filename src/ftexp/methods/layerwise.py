"""Layer-wise learning-rate decay, shared by methods that train transformer blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftexp.methods.base import Method
from ftexp.utils.params import layerwise_lr_scales

if TYPE_CHECKING:
    from torch import nn


@dataclass
class LayerwiseLR(Method):
    """Adds ``layer_lr_decay``: block ``i`` of ``L`` trains at ``lr * decay ** (L - i)``.

    Attributes:
        layer_lr_decay: 1.0 disables it; 0.8-0.95 is typical (ULMFiT uses 1/2.6 per layer).
    """

    layer_lr_decay: float = 1.0

    def problems(self) -> list[str]:
        """Check the decay factor."""
        issues = super().problems()
        if not 0 < self.layer_lr_decay <= 1:
            issues.append(f"method.layer_lr_decay must be in (0, 1], got {self.layer_lr_decay}")
        return issues

    def param_lr_scales(self, model: nn.Module) -> dict[str, float]:
        """Discriminative rates when ``layer_lr_decay < 1``."""
        return {} if self.layer_lr_decay == 1 else layerwise_lr_scales(model, self.layer_lr_decay)
