"""Full fine-tuning: every parameter trains."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ftexp.methods.layerwise import LayerwiseLR


@dataclass
class Full(LayerwiseLR):
    """Train all weights. The reference point every other method is compared against."""

    def apply(self, model: nn.Module) -> nn.Module:
        """Make every parameter trainable."""
        for param in model.parameters():
            param.requires_grad_(True)
        return model
