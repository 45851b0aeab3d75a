"""The run's own top-level settings (``seed``, ``train``, ``tags`` ...) and their types.

Every key of ``train.yaml`` that is not a config group is declared here once, so a value of
the wrong type (``seed=abc``, ``train=maybe``) is refused before anything runs, with the key,
the type it takes and an example.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf

from ftexp.utils.types import describe, example, fits


@dataclasses.dataclass
class RunSettings:
    """The top-level keys of a run's config (see ``conf/train.yaml`` for what each does)."""

    task_name: str = "train"
    tags: list[str] = dataclasses.field(default_factory=list)
    seed: int = 42
    train: bool = True
    test: bool = True
    ckpt_path: str | None = None
    save_model: bool = True
    upload_model: bool = False
    eval_sets: dict[str, Any] = dataclasses.field(default_factory=dict)
    optimized_metric: str = "val/acc"
    optimized_mode: Literal["min", "max"] = "max"


def setting_problems(cfg: DictConfig) -> list[str]:
    """A problem for each top-level setting whose value does not fit its declared type."""
    hints = typing.get_type_hints(RunSettings)
    issues = []
    for key, hint in hints.items():
        if key not in cfg:
            continue
        value = cfg.get(key)
        if OmegaConf.is_config(value):
            value = OmegaConf.to_container(value, resolve=True)
        choices = typing.get_args(hint) if typing.get_origin(hint) is Literal else None
        if choices is not None:
            if value not in choices:
                issues.append(f"{key} must be one of {list(choices)}, got {value!r}")
            continue
        if not fits(value, hint):
            issues.append(
                f"{key} must be {describe(hint)}, got {value!r}; set it like {key}={example(hint)}"
            )
    return issues
