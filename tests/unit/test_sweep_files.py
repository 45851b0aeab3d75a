"""Every W&B sweep file in sweeps/ expands into commands that compose and pass the config check."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from ftexp.checks.config_check import check_heavy, check_light
from tests.conftest import compose_cfg

SWEEPS = Path(__file__).parents[2] / "sweeps"
FILES = sorted(p for p in SWEEPS.glob("*.yaml") if "command" in yaml.safe_load(p.read_text()))


def commands(sweep: dict) -> list[list[str]]:  # type: ignore[type-arg]
    """The overrides of every agent run: the fixed command arguments plus one combination."""
    fixed = [a for a in sweep["command"] if not str(a).startswith(("${", "-m", "ftexp"))]
    fixed = [a for a in fixed if a not in ("-m", "ftexp")]
    names = sorted(sweep["parameters"])
    grids = [sweep["parameters"][n]["values"] for n in names]
    return [
        [*fixed, *(f"{n}={v}" for n, v in zip(names, combo, strict=True))]
        for combo in itertools.product(*grids)
    ]


def test_there_is_a_wandb_sweep_that_runs_ftexp_through_hydra() -> None:
    assert FILES
    for path in FILES:
        command = yaml.safe_load(path.read_text())["command"]
        assert command[:4] == ["${env}", "${interpreter}", "-m", "ftexp"]
        assert command[-1] == "${args_no_hyphens}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_wandb_sweep_command_composes_and_passes_the_config_check(path: Path) -> None:
    runs = commands(yaml.safe_load(path.read_text()))
    assert len(runs) > 1
    for overrides in runs:
        check_light(compose_cfg(overrides))
    check_heavy(compose_cfg(runs[0]))  # and the torch-side checks, once
