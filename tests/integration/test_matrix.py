"""The seams: every objective x every data option either trains or is refused at config time,
and every objective trains sharded over 2 CPU processes (ddp and fsdp)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra.utils import instantiate

from ftexp.checks.config_check import check_heavy, data_partners
from ftexp.checks.contract import contract_problems, fits
from ftexp.errors import ConfigError
from tests.conftest import compose_cfg, group_options, run_ftexp
from tests.options import (
    DATA,
    DDP_IN_SLOW_SUITE,
    FSDP_IN_SLOW_SUITE,
    MODEL_FOR_DATA,
    OBJECTIVE,
    OBJECTIVE_DATA,
)

FAST = [
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "method=lora",
]
PAIRS = [(o, d) for o in group_options("objective") for d in group_options("data")]
SLOW_SHARDED = {(o, "fsdp") for o in FSDP_IN_SLOW_SUITE} | {(o, "ddp") for o in DDP_IN_SLOW_SUITE}


def overrides(objective: str, data: str) -> list[str]:
    model = MODEL_FOR_DATA.get(data, [])
    return [
        f"objective={objective}",
        f"data={data}",
        *OBJECTIVE[objective],
        *model,
        *DATA[data],
        *FAST,
    ]


@pytest.mark.parametrize(("objective", "data"), PAIRS)
def test_each_objective_and_data_pair_trains_or_is_refused_at_config_time(
    objective: str, data: str, tmp_path: Path
) -> None:
    from ftexp.run.wiring import train

    cfg = compose_cfg([*overrides(objective, data), "trainer.fast_dev_run=true"], tmp_path)
    if not fits(objective_class(objective), data_partners()[data]):
        with pytest.raises(ConfigError, match="cannot train on data=") as err:
            check_heavy(cfg)
        assert "data options that fit" in str(err.value)
        return
    settings = instantiate(cfg.objective, _convert_="all")
    mismatch = settings.data_problems(instantiate(cfg.data, _convert_="all"))
    if mismatch:  # the fields fit, a setting does not (e.g. a reward's example fields)
        with pytest.raises(ConfigError, match=re.escape(mismatch[0])):
            check_heavy(cfg)
        return
    metrics = train(cfg)  # a smoke step: one batch of train, val and test
    trains = objective_class(objective).trains  # in-context prompting only tests
    assert metrics["trainer/global_step"] == (1 if trains else 0)
    assert (tmp_path / "metrics.json").is_file()


def objective_class(objective: str) -> Any:
    from hydra.utils import get_object

    return get_object(compose_cfg([f"objective={objective}"]).objective._target_)


def test_valid_partners_are_exactly_the_data_that_provides_the_fields() -> None:
    class Spec:
        def load_classifier(self) -> None: ...

    from ftexp.data.classification import ClassificationData
    from ftexp.objectives.preference import DPO

    names = {"objective": "dpo", "data": "sentiment", "model": "tiny_bert"}
    (problem, model_problem) = contract_problems(
        DPO(), ClassificationData(), Spec(), names, data_partners
    )
    assert "data options that fit objective=dpo: preference" in problem
    assert "needs a model that can load a causal language model" in model_problem


SHARDED = [
    pytest.param(
        objective,
        strategy,
        marks=[pytest.mark.slow] if (objective, strategy) in SLOW_SHARDED else [],
        id=f"{objective}-{strategy}",
    )
    for objective in group_options("objective")
    for strategy in ("ddp", "fsdp")
]


@pytest.mark.parametrize(("objective", "strategy"), SHARDED)
def test_every_objective_trains_sharded_over_two_processes(
    objective: str, strategy: str, tmp_path: Path
) -> None:
    data = OBJECTIVE_DATA[objective]
    run = tmp_path / "run"
    args = [
        *overrides(objective, data),
        f"trainer={strategy}",
        "trainer.devices=2",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run}",
    ]
    if (
        strategy in objective_class(objective).incompatible_strategies
    ):  # declared: refused before anything loads
        done = subprocess.run(
            [sys.executable, "-m", "ftexp", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 2, done.stderr[-2000:]
        assert f"with trainer strategy {strategy}" in done.stderr
        assert "Traceback" not in done.stderr
        return
    run_ftexp(*args)
    metrics = json.loads((run / "metrics.json").read_text())
    trains = objective_class(objective).trains  # in-context prompting only tests
    assert metrics["trainer/global_step"] >= 1 if trains else metrics["trainer/global_step"] == 0
    assert any(k.startswith("test/") for k in metrics)
    assert (run / "model").is_dir() == trains


@pytest.mark.parametrize("data", sorted(DATA))
def test_every_data_option_keeps_test_disjoint_from_val_and_train(data: str) -> None:
    from hydra.utils import instantiate

    objective = next(o for o in OBJECTIVE if fits(objective_class(o), data_partners()[data]))
    built = instantiate(compose_cfg(overrides(objective, data)).data, _convert_="all")
    built.load()
    keys = {name: {built.key(x) for x in split} for name, split in built.splits.items()}
    assert all(keys.values()), {k: len(v) for k, v in keys.items()}
    assert not keys["test"] & keys["val"]
    assert not keys["test"] & keys["train"]
    assert not keys["val"] & keys["train"]
