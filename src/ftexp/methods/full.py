"""Full fine-tuning: every parameter trains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftexp.methods.layerwise import LayerwiseLR

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask


@dataclass
class Full(LayerwiseLR):
    """Train all weights. The reference point every other method is compared against."""

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Make every parameter trainable."""
        for param in model.parameters():
            param.requires_grad_(True)
        return model
