"""The module of ``method=vpt``: learned tokens inserted after the class token (imports torch)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class VisualPrompts(nn.Module):
    """``num_tokens`` learned tokens of ``width`` at positions 1..num_tokens of the sequence.

    ``prompts`` are inserted after the embeddings (shallow VPT). With ``depth`` > 1 (deep VPT),
    the input of each later block gets its own tokens in the same positions, in place of what
    the block before made of the previous ones (``deeper[i - 1]`` for block ``i``).
    """

    def __init__(
        self, num_tokens: int, width: int, patch_size: int, dropout: float, depth: int = 1
    ) -> None:
        super().__init__()
        # the paper's Xavier-uniform range over the patch projection's fan-in and the width
        bound = math.sqrt(6.0 / (3 * patch_size**2 + width))
        self.prompts = nn.Parameter(torch.empty(num_tokens, width).uniform_(-bound, bound))
        if depth > 1:
            self.deeper = nn.Parameter(
                torch.empty(depth - 1, num_tokens, width).uniform_(-bound, bound)
            )
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """The class token, the prompts, then the patch tokens."""
        return torch.cat([tokens[:, :1], self._batch(self.prompts, tokens), tokens[:, 1:]], dim=1)

    def replace(self, block: int, hidden: torch.Tensor) -> torch.Tensor:
        """Block ``block``'s input with its own prompts in the prompt positions."""
        own = self._batch(self.deeper[block - 1], hidden)
        return torch.cat([hidden[:, :1], own, hidden[:, 1 + own.shape[1] :]], dim=1)

    def block_hook(self, block: int) -> Any:
        """A forward pre-hook that gives block ``block`` its own prompts (deep VPT)."""

        def hook(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if args:
                return (self.replace(block, args[0]), *args[1:]), kwargs
            kwargs["hidden_states"] = self.replace(block, kwargs["hidden_states"])
            return args, kwargs

        return hook

    def _batch(self, prompts: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return self.dropout(prompts).to(like.dtype).expand(like.shape[0], -1, -1)
