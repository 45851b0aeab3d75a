"""Reload a finished run's model from its run dir (HF or PEFT format)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import OmegaConf
from torch import nn
from transformers import PreTrainedTokenizerBase

from ftexp import current_path
from ftexp.contract import ModelTask
from ftexp.errors import RunError


def load_run(run_dir: str | Path) -> tuple[nn.Module, PreTrainedTokenizerBase, list[str]]:
    """Return ``(model in eval mode, tokenizer, label names)`` saved by a run (LMs: no labels).

    The method that trained the model decides how it is rebuilt (full weights, or base model +
    adapter), so this works for every method without branching on its name.
    """
    model_dir = Path(run_dir) / "model"
    parts = run_parts(run_dir)
    spec, method, task = parts.model, parts.method, parts.task
    tokenizer = task.load_processor(model_dir)
    model = method.load_saved(spec, model_dir, task)
    if not task.labelled:
        return model.eval(), tokenizer, []
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return model.eval(), tokenizer, labels


@dataclass(frozen=True)
class SavedRunParts:
    """What rebuilds a finished run's model: its model spec, method and ``ModelTask``."""

    model: Any
    method: Any
    task: ModelTask


def run_parts(run_dir: str | Path) -> SavedRunParts:
    """The model spec, method and ``ModelTask`` of a finished run, from its config (no weights)."""
    run = Path(run_dir)
    if not (run / "config.yaml").is_file() or not (run / "model").is_dir():
        raise RunError(
            f"{run} is not a finished ftexp run (needs config.yaml and model/); "
            "pass the run dir printed at the end of training"
        )
    cfg = OmegaConf.load(run / "config.yaml")
    return SavedRunParts(
        model=instantiate(cfg.model, _convert_="all"),
        method=instantiate(cfg.method, _convert_="all"),
        # the objective's contract: which model it trained on this data
        task=objective_class(cfg).model_task(get_object(cfg.data._target_)),
    )


def served_parts(run_dir: str | Path, command: str) -> SavedRunParts:
    """A finished run's parts, or ``RunError`` when ``command`` does not serve its kind of model.

    Checked from the run's config, before the model loads: generating from a classifier, or
    predicting classes with a language model, is refused with the commands that do fit.
    """
    parts = run_parts(run_dir)
    if command not in parts.task.commands:
        fitting = ", ".join(f"python -m ftexp.cli.{c}" for c in sorted(parts.task.commands))
        raise RunError(
            f"python -m ftexp.cli.{command} does not serve {run_dir}: that run trained a "
            f"{parts.task.name}; for it use {fitting}"
        )
    return parts


def objective_class(cfg: Any) -> Any:
    """The objective spec class a run's config names (also where it has moved since)."""
    return get_object(current_path(str(cfg.objective._target_)))
