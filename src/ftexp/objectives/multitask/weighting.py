"""How a multi-task objective weighs its losses: total = sum_i alpha_i(t) * L_i.

Picked with ``objective/weighting=<static|linear|cosine|uncertainty>``. These specs import no
torch (they are checked at config time); ``build`` returns the module that weighs the losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


class Scheduled:
    """Weights that are a function of training progress alone (nothing learned)."""

    def alphas(self, progress: float, tasks: tuple[str, ...]) -> dict[str, float]:
        """Each task's weight at ``progress`` (0 at the first step, 1 at the last)."""
        raise NotImplementedError

    def build(self, tasks: tuple[str, ...]) -> Any:
        """The module that combines the losses."""
        from ftexp.objectives.multitask.weights import ScheduledWeights

        return ScheduledWeights(self, tasks)


@dataclass
class Static(Scheduled):
    """Fixed weights: ``alpha`` maps each task to its weight (a missing task weighs 1)."""

    alpha: dict[str, float] = field(default_factory=dict)

    def problems(self, tasks: tuple[str, ...]) -> list[str]:
        """Weights of unknown tasks, and negative weights."""
        return _weight_problems("alpha", self.alpha, tasks)

    def alphas(self, progress: float, tasks: tuple[str, ...]) -> dict[str, float]:
        """The fixed weights."""
        return {task: float(self.alpha.get(task, 1.0)) for task in tasks}


@dataclass
class Linear(Scheduled):
    """Weights moving in a straight line from ``start`` to ``end`` over training.

    ``start`` / ``end`` map tasks to weights (a missing task weighs 1 at that end), e.g. an
    auxiliary loss faded out: ``start: {mlm: 1.0}, end: {mlm: 0.0}``.
    """

    start: dict[str, float] = field(default_factory=dict)
    end: dict[str, float] = field(default_factory=dict)

    def problems(self, tasks: tuple[str, ...]) -> list[str]:
        """Weights of unknown tasks, and negative weights, at either end."""
        return _weight_problems("start", self.start, tasks) + _weight_problems(
            "end", self.end, tasks
        )

    def alphas(self, progress: float, tasks: tuple[str, ...]) -> dict[str, float]:
        """Each task's weight at ``progress`` along the curve."""
        share = self.curve(min(max(progress, 0.0), 1.0))
        return {
            task: (1 - share) * float(self.start.get(task, 1.0))
            + share * float(self.end.get(task, 1.0))
            for task in tasks
        }

    def curve(self, progress: float) -> float:
        """How far from ``start`` to ``end`` the weights are at ``progress``."""
        return progress


@dataclass
class Cosine(Linear):
    """Weights moving from ``start`` to ``end`` along a half cosine (slow, fast, slow)."""

    def curve(self, progress: float) -> float:
        """Half a cosine period from 0 to 1."""
        return 0.5 * (1 - math.cos(math.pi * progress))


@dataclass
class Uncertainty:
    """Learned weights (Kendall, Gal and Cipolla 2018): one log-variance ``s_i`` per task.

    total = sum_i exp(-s_i) * L_i + s_i / 2 (their classification form: 1/sigma^2 * L +
    log sigma); ``alpha_i = exp(-s_i)``. The ``s_i`` start at ``init`` and train with the
    model, so a noisier task is down-weighted as training finds it.
    """

    init: float = 0.0

    def problems(self, tasks: tuple[str, ...]) -> list[str]:
        """A start value that overflows exp()."""
        if not -20 <= self.init <= 20:
            return [f"objective.weighting.init must be in [-20, 20], got {self.init}"]
        return []

    def build(self, tasks: tuple[str, ...]) -> Any:
        """The module holding the learned log-variances."""
        from ftexp.objectives.multitask.weights import UncertaintyWeights

        return UncertaintyWeights(tasks, self.init)


def _weight_problems(key: str, weights: dict[str, float], tasks: tuple[str, ...]) -> list[str]:
    issues = []
    unknown = sorted(set(weights) - set(tasks))
    if unknown:
        issues.append(
            f"objective.weighting.{key} names {unknown}; the tasks of this objective are "
            f"{list(tasks)}"
        )
    negative = sorted(task for task, value in weights.items() if float(value) < 0)
    if negative:
        issues.append(f"objective.weighting.{key}: weights must be >= 0, {negative} are not")
    return issues
