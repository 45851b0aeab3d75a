"""The components of one run, built from the config and checked before any weights load."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ftexp.data.base import FinetuneData
from ftexp.methods.base import Method
from ftexp.models.base import ModelSpec
from ftexp.objectives.objective import Objective
from ftexp.optim import AdamWConfig
from ftexp.speed import SpeedConfig


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

    @classmethod
    def of(cls, built: dict[str, Any]) -> Parts:
        """The parts from components built by config group name (all of them present)."""
        return cls(**{name: built[name] for name in cls.names()})
