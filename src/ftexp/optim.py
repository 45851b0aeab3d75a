"""AdamW with decoupled weight decay, warmup and linear/cosine/constant decay."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.optim.lr_scheduler import LambdaLR

SCHEDULES = ("linear", "cosine", "constant")
NO_DECAY = ("bias", "LayerNorm.weight", "layernorm.weight", "norm.weight", "ln_")


@dataclass
class AdamWConfig:
    """Optimiser settings (``optim`` group).

    Attributes:
        lr: peak learning rate (``null`` in YAML means the method's tuned default).
        weight_decay: decoupled decay, not applied to biases and norm weights.
        warmup_ratio: share of optimiser steps spent in linear warmup from 0.
        schedule: decay after warmup: ``linear`` to 0, ``cosine`` to ``min_lr_ratio``, or
            ``constant``.
        fused: use the fused AdamW kernel (CUDA); ``None`` lets torch decide.
    """

    lr: float = 5e-5
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_ratio: float = 0.06
    schedule: str = "linear"
    min_lr_ratio: float = 0.0
    fused: bool | None = None

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    def problems(self) -> list[str]:
        """List invalid settings."""
        issues = []
        if self.lr <= 0:
            issues.append(f"optim.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            issues.append(f"optim.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_ratio < 1:
            issues.append(f"optim.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.schedule not in SCHEDULES:
            issues.append(f"optim.schedule={self.schedule!r} is not one of {SCHEDULES}")
        if not all(0 <= b < 1 for b in self.betas):
            issues.append(f"optim.betas must be in [0, 1), got {list(self.betas)}")
        return issues

    def build(
        self,
        named_params: Iterable[tuple[str, nn.Parameter]],
        total_steps: int,
        lr_scales: dict[str, float] | None = None,
    ) -> tuple[torch.optim.Optimizer, LambdaLR]:
        """Create the optimiser and its per-step scheduler.

        Parameters are grouped by (weight decay or not, learning-rate multiplier); biases and
        norm weights get no decay. Every given parameter is included, trainable now or not, so
        a gradual-unfreezing schedule needs no new optimiser.
        """
        import torch
        from torch.optim.lr_scheduler import LambdaLR

        groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
        for name, param in named_params:
            decays = param.ndim >= 2 and not any(k in name for k in NO_DECAY)
            decays = decays and not getattr(param, "no_weight_decay", False)
            scale = (lr_scales or {}).get(name, 1.0)
            groups.setdefault((decays, scale), []).append(param)
        param_groups = [
            {
                "params": params,
                "weight_decay": self.weight_decay if decays else 0.0,
                "lr": self.lr * scale,
            }
            for (decays, scale), params in sorted(
                groups.items(), key=lambda kv: (not kv[0][0], -kv[0][1])
            )
        ]
        optimizer = torch.optim.AdamW(
            param_groups, lr=self.lr, betas=self.betas, eps=self.eps, fused=self.fused
        )
        return optimizer, LambdaLR(optimizer, self.lr_lambda(max(total_steps, 1)))

    def lr_lambda(self, total_steps: int) -> _Schedule:
        """Return the multiplier of the peak rate as a function of the optimiser step."""
        return _Schedule(
            self.schedule,
            math.ceil(total_steps * self.warmup_ratio),
            total_steps,
            self.min_lr_ratio,
        )


@dataclass
class _Schedule:
    """Picklable LR multiplier (checkpoints store the scheduler state)."""

    kind: str
    warmup: int
    total: int
    floor: float

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.kind == "constant":
            return 1.0
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        if self.kind == "cosine":
            return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))
        return max(0.0, 1.0 - progress)
