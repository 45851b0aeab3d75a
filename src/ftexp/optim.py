"""AdamW with decoupled weight decay, warmup and linear/cosine/constant decay."""

from __future__ import annotations

import math
import re
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
        head_lr_scale: multiplier of ``lr`` for the task head (the layers outside the
            pretrained backbone): a freshly initialised head often wants ~10x.
        new_rows_lr: peak rate of the embedding rows of tokens added by ``model.extend_vocab``
            (``None``: the rate of the rest of their matrix); fresh rows trained at a full
            fine-tuning rate barely move. Follows the same warmup and decay.
    """

    lr: float = 5e-5
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_ratio: float = 0.06
    schedule: str = "linear"
    min_lr_ratio: float = 0.0
    fused: bool | None = None
    head_lr_scale: float = 1.0
    new_rows_lr: float | None = None

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    def state_bytes(self, trainable_bytes: int) -> int:
        """Bytes of optimiser state for trainable weights of ``trainable_bytes``.

        AdamW keeps two moments per weight, in the weight's dtype.
        """
        return 2 * trainable_bytes

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
        if self.head_lr_scale <= 0:
            issues.append(f"optim.head_lr_scale must be > 0, got {self.head_lr_scale} (1 = lr)")
        if self.new_rows_lr is not None and self.new_rows_lr <= 0:
            issues.append(f"optim.new_rows_lr must be > 0 or null, got {self.new_rows_lr}")
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

    def head_scales(
        self, names: Iterable[str], heads: set[str], scales: dict[str, float]
    ) -> dict[str, float]:
        """``scales`` with each parameter of the modules ``heads`` times ``head_lr_scale``."""
        if self.head_lr_scale == 1:
            return scales
        return {
            name: scales.get(name, 1.0) * (self.head_lr_scale if in_modules(name, heads) else 1)
            for name in names
        }

    def lr_lambda(self, total_steps: int) -> _Schedule:
        """Return the multiplier of the peak rate as a function of the optimiser step."""
        return _Schedule(
            self.schedule,
            math.ceil(total_steps * self.warmup_ratio),
            total_steps,
            self.min_lr_ratio,
        )


def in_modules(name: str, modules: set[str]) -> bool:
    """Whether parameter ``name`` lies in one of ``modules``, under any wrapper prefix.

    PEFT's trained copy of a whole head (``classifier.modules_to_save.default.dense``) is read
    as the module it copies (``classifier.dense``).
    """
    plain = re.sub(r"\.modules_to_save\.[^.]+", "", f".{name}")
    return any(f".{module}." in plain for module in modules)


def scale_row_steps(
    optimizer: torch.optim.Optimizer, param: nn.Parameter, first: int, scale: float
) -> None:
    """Make rows ``first:`` of ``param`` move ``scale`` times as far each step as the rest.

    Adam's moments do not depend on the rate, so scaling a row's whole AdamW update (decay
    included) is exactly AdamW at ``scale * lr`` for that row, inside one tensor.
    """
    import torch

    before: list[torch.Tensor] = []

    def keep(*_: object) -> None:
        before[:] = [param.detach()[first:].clone()]

    def stretch(*_: object) -> None:
        with torch.no_grad():
            rows = param[first:]
            rows.copy_(torch.lerp(before[0], rows, scale))
        before.clear()

    optimizer.register_step_pre_hook(keep)
    optimizer.register_step_post_hook(stretch)


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
