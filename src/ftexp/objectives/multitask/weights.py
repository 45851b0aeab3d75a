"""The modules that combine per-task losses into one (specs in ``weighting.py``)."""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn


class Schedule(Protocol):
    """A weighting spec whose weights are a function of training progress alone."""

    def alphas(self, progress: float, tasks: tuple[str, ...]) -> dict[str, float]:
        """Each task's weight at ``progress`` (0 at the first step, 1 at the last)."""
        ...


class ScheduledWeights(nn.Module):
    """Weights read from a schedule spec at the current training progress."""

    def __init__(self, spec: Schedule, tasks: tuple[str, ...]) -> None:
        super().__init__()
        self.spec, self.tasks = spec, tasks

    def forward(
        self, losses: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The weighted total and each task's weight."""
        alphas = self.spec.alphas(progress, self.tasks)
        total = torch.stack([alphas[task] * losses[task].float() for task in self.tasks]).sum()
        return total, alphas


class UncertaintyWeights(nn.Module):
    """Learned log-variances ``s_i``: total = sum_i exp(-s_i) * L_i + s_i / 2."""

    def __init__(self, tasks: tuple[str, ...], init: float) -> None:
        super().__init__()
        self.tasks = tasks
        self.log_vars = nn.Parameter(torch.full((len(tasks),), float(init)))
        self.log_vars.no_weight_decay = True  # type: ignore[attr-defined]  # read by optim

    def forward(
        self, losses: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The weighted total and each task's current weight ``exp(-s_i)``."""
        stacked = torch.stack([losses[task].float() for task in self.tasks])
        precision = torch.exp(-self.log_vars)
        total = (precision * stacked + self.log_vars / 2).sum()
        return total, dict(zip(self.tasks, precision.detach().tolist(), strict=True))
