"""The bottleneck adapter layers (torch modules; imported when a model is adapted)."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


class Bottleneck(nn.Module):
    """``h + up(act(down(h)))`` with ``up`` zero-initialised, so training starts at identity."""

    def __init__(self, dim: int, reduction: int, activation: str, residual: bool) -> None:
        super().__init__()
        hidden = max(1, dim // reduction)
        self.down, self.act, self.up = (
            nn.Linear(dim, hidden),
            ACTIVATIONS[activation](),
            nn.Linear(hidden, dim),
        )
        self.residual = residual
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Apply the adapter to a sub-layer output."""
        update = self.up(self.act(self.down(hidden)))
        return hidden + update if self.residual else update


class AdaptedLinear(nn.Module):
    """A frozen linear sub-layer output projection followed by a bottleneck adapter."""

    def __init__(self, base: nn.Linear, adapter: Bottleneck) -> None:
        super().__init__()
        self.base, self.adapter = base, adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project, then adapt (before the block's residual add and LayerNorm, as in Houlsby)."""
        return self.adapter(self.base(x))
