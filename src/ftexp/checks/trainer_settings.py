"""Trainer settings checked against what Lightning itself accepts, before the Trainer is built.

Lightning rejects an unknown precision, accelerator, strategy or clipping algorithm only when
the Trainer is constructed, after the data and tokenizer have loaded; these checks name the
valid values from Lightning's own registries instead, in the config check.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

from omegaconf import DictConfig, open_dict

SHORT_PRECISIONS = ("64", "32", "16", "bf16", 64, 32, 16)  # Lightning's legacy spellings
MEMORY_CHECKS = ("refuse", "warn", "off")
# keys of the trainer group that ftexp reads itself; the rest go to Lightning's Trainer
OWN_KEYS = ("memory_check",)


def lightning_settings(trainer: DictConfig) -> DictConfig:
    """The trainer group without ftexp's own keys: what ``lightning.Trainer`` is built from."""
    settings = copy.deepcopy(trainer)  # keeps its parent: ${paths.output_dir} still resolves
    with open_dict(settings):
        for key in OWN_KEYS:
            settings.pop(key, None)
    return settings


def trainer_problems(trainer: DictConfig | None) -> list[str]:
    """A problem for each Trainer name Lightning's registries would refuse (imports Lightning)."""
    if trainer is None:
        return []
    issues = []
    issues += _choice("precision", trainer.get("precision"), precisions(), allow_none=True)
    issues += _choice("accelerator", trainer.get("accelerator"), accelerators())
    strategy = trainer.get("strategy", "auto")
    if isinstance(strategy, str):
        issues += _choice("strategy", strategy, strategies())
    return issues


def trainer_value_problems(trainer: DictConfig | None) -> list[str]:
    """A problem for each Trainer value Lightning would refuse, checked without importing it."""
    if trainer is None:
        return []
    issues = []
    issues += _choice(
        "memory_check", trainer.get("memory_check", "refuse"), list(MEMORY_CHECKS), by="ftexp"
    )
    algorithm = trainer.get("gradient_clip_algorithm")
    if algorithm is not None:
        issues += _choice("gradient_clip_algorithm", algorithm, ["norm", "value"])
    interval = trainer.get("val_check_interval")
    if isinstance(interval, float) and not 0.0 < interval <= 1.0:
        issues.append(
            f"trainer.val_check_interval={interval}: a float is the fraction of an epoch "
            "between validations and must be in (0, 1]; an integer counts steps"
        )
    return issues


def precisions() -> list[Any]:
    """Every precision flag Lightning's Trainer accepts."""
    from lightning.fabric.connector import _PRECISION_INPUT_STR

    return [*typing.get_args(_PRECISION_INPUT_STR), *SHORT_PRECISIONS]


def accelerators() -> list[str]:
    """Every accelerator name Lightning knows, plus ``auto`` and ``gpu``."""
    from lightning.pytorch.accelerators import AcceleratorRegistry

    return ["auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators())]


def strategies() -> list[str]:
    """Every strategy name Lightning registers, plus ``auto``."""
    from lightning.pytorch.strategies import StrategyRegistry

    return ["auto", *StrategyRegistry.available_strategies()]


def _choice(
    key: str, value: Any, valid: list[Any], allow_none: bool = False, by: str = "Lightning"
) -> list[str]:
    if value in valid or (allow_none and value is None):
        return []
    shown = [v for v in valid if isinstance(v, str)]
    return [f"trainer.{key}={value!r} is not one {by} accepts; choose one of {shown}"]
