"""The module of ``method=vpt``: learned tokens inserted after the class token (imports torch)."""

from __future__ import annotations

import math

import torch
from torch import nn


class VisualPrompts(nn.Module):
    """``num_tokens`` learned tokens of ``width``, inserted into a token sequence at position 1."""

    def __init__(self, num_tokens: int, width: int, patch_size: int, dropout: float) -> None:
        super().__init__()
        self.prompts = nn.Parameter(torch.empty(num_tokens, width))
        # the paper's Xavier-uniform range over the patch projection's fan-in and the width
        bound = math.sqrt(6.0 / (3 * patch_size**2 + width))
        nn.init.uniform_(self.prompts, -bound, bound)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """The class token, the prompts, then the patch tokens."""
        shared = self.dropout(self.prompts).to(tokens.dtype).expand(tokens.shape[0], -1, -1)
        return torch.cat([tokens[:, :1], shared, tokens[:, 1:]], dim=1)
