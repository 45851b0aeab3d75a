"""Hydra sweeps over LoRA hyperparameters: a grid and an Optuna study, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.conftest import TINY, run_ftexp


def multirun(tmp_path: Path, *overrides: str) -> list[Path]:
    run_ftexp(
        "-m",
        *TINY,
        "method=lora",
        "trainer.max_epochs=1",
        f"hydra.sweep.dir={tmp_path}",
        f"paths.log_dir={tmp_path}",
        *overrides,
        cwd=tmp_path,
        timeout=900,
    )
    return sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.isdigit())


def test_grid_sweep_runs_every_rank(tmp_path: Path) -> None:
    jobs = multirun(tmp_path, "sweep=lora_grid", "method.lr=1e-3")  # the command line wins
    ranks = sorted(yaml.safe_load((j / "config.yaml").read_text())["method"]["r"] for j in jobs)
    assert ranks == [4, 8, 16]
    assert all("best/val/acc" in json.loads((j / "metrics.json").read_text()) for j in jobs)


def test_optuna_sweep_maximises_the_returned_best_metric(tmp_path: Path) -> None:
    jobs = multirun(tmp_path, "sweep=lora_optuna", "hydra.sweeper.n_trials=3")
    assert len(jobs) == 3
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    best = max(json.loads((j / "metrics.json").read_text())["best/val/acc"] for j in jobs)
    assert results["best_value"] == best
    assert set(results["best_params"]) == {"method.r", "method.alpha", "method.lr"}
    assert (tmp_path / "optuna.db").is_file()  # the study persists for a later invocation


def test_a_killed_optuna_sweep_resumes_without_repeating_trials(tmp_path: Path) -> None:
    import optuna

    args = [
        sys.executable,
        "-m",
        "ftexp",
        "-m",
        *TINY,
        "method=lora",
        "trainer.max_epochs=1",
        "sweep=lora_optuna",
        "hydra.sweeper.n_trials=3",
        f"paths.log_dir={tmp_path}",
    ]
    first = subprocess.Popen(
        [*args, f"hydra.sweep.dir={tmp_path / 'first'}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first.poll() is None:  # kill -9 in the second trial
        if (tmp_path / "first" / "1" / "config.yaml").exists():
            break
        time.sleep(0.05)
    first.kill()
    first.wait(timeout=60)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.load_study(study_name="ftexp_lora", storage=storage)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "RUNNING"], states
    interrupted = study.trials[1].params

    run_ftexp(*args[3:], f"hydra.sweep.dir={tmp_path / 'second'}", cwd=tmp_path, timeout=900)
    study = optuna.load_study(study_name="ftexp_lora", storage=storage)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"], states
    assert study.trials[2].params == interrupted  # the interrupted trial ran again first
    rerun = sorted(p.name for p in (tmp_path / "second").iterdir() if p.name.isdigit())
    assert len(rerun) == 2  # only the missing trials: the first one's result was kept


def test_a_killed_grid_sweep_rerun_with_the_same_command_runs_only_what_was_left(
    tmp_path: Path,
) -> None:
    from tests.conftest import resume_outcome

    grid = [*TINY, "method=lora", "trainer.max_epochs=3", "data.batch_size=8", "save_model=false"]
    args = [
        sys.executable,
        "-m",
        "ftexp",
        "-m",
        *grid,
        "method.r=4,8,16",
        f"paths.log_dir={tmp_path}",
    ]
    first = subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first.poll() is None:  # kill -9 inside job 1
        if list(tmp_path.glob("multirun/*/*/1/checkpoints/last.ckpt")):
            break
        time.sleep(0.02)
    first.kill()
    first.wait(timeout=60)
    (sweep,) = [p.parent for p in tmp_path.glob("multirun/*/*/0")]
    assert not (sweep / "1" / "metrics.json").exists()
    kept = (sweep / "0" / "metrics.json").read_text()

    again = run_ftexp(*args[3:], cwd=tmp_path, timeout=900)  # the same command
    assert f"going on in {sweep}" in again.stdout + again.stderr
    assert (sweep / "0" / "metrics.json").read_text() == kept  # not run again
    assert sorted(p.name for p in sweep.iterdir() if p.name.isdigit()) == ["0", "1", "2"]
    assert len(list(tmp_path.glob("multirun/*/*/0"))) == 1  # no second sweep
    assert not list((tmp_path / "multirun" / ".unfinished").iterdir())  # finished: record gone

    reference = tmp_path / "reference"
    run_ftexp(*grid, "method.r=8", f"hydra.run.dir={reference}", cwd=tmp_path)
    assert resume_outcome(sweep / "1") == resume_outcome(reference)  # job 1 resumed exactly
