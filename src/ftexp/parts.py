"""The components of one run, built from the config and checked before any weights load."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TypeVar

from ftexp.data.base import FinetuneData
from ftexp.methods.base import Method
from ftexp.models.base import ModelSpec
from ftexp.objectives.objective import Objective
from ftexp.optim import AdamWConfig
from ftexp.speed import SpeedConfig

_Part = TypeVar("_Part")


@dataclass
class Parts:
    """What the config groups of a run became: the one object the run is wired from.

    Built once by ``ftexp.checks.config_check.check_light`` (light: no torch, no weights) and
    passed to everything that builds the run, so no step looks components up by name.

    Attributes:
        model: the model spec (``model=``): a description, no weights.
        method: which parameters train and how the backbone is rewritten (``method=``).
        optim: the optimiser and schedule settings (``optim=``).
        data: the data option (``data=``); ``load`` reads and splits it.
        speed: execution switches (``speed=``).
        objective: the loss, metrics and kind of model (``objective=``), its settings.
    """

    model: ModelSpec
    method: Method
    optim: AdamWConfig
    data: FinetuneData
    speed: SpeedConfig
    objective: Objective

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The config groups a run is built from, in the order they are checked."""
        return tuple(field.name for field in fields(cls))


@dataclass
class BuiltParts:
    """The parts the light check has built so far: each None where its config has a problem.

    The checks between parts (the contract, the model's sizes, the vocabulary) run on the
    parts that exist, so one bad group does not hide the problems of the others.
    """

    model: ModelSpec | None = None
    method: Method | None = None
    optim: AdamWConfig | None = None
    data: FinetuneData | None = None
    speed: SpeedConfig | None = None
    objective: Objective | None = None

    @classmethod
    def of(cls, parts: Parts) -> BuiltParts:
        """Every part of a run that passed the light check."""
        return cls(**{name: getattr(parts, name) for name in Parts.names()})

    def complete(self) -> Parts:
        """The run's parts; only called once every one of them was built."""
        return Parts(
            model=_built(self.model),
            method=_built(self.method),
            optim=_built(self.optim),
            data=_built(self.data),
            speed=_built(self.speed),
            objective=_built(self.objective),
        )


def _built(part: _Part | None) -> _Part:
    if part is None:
        raise ValueError("a part of the run was not built; its problem was reported first")
    return part
