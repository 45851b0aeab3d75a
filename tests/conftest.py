"""Shared fixtures: real Hydra compose of the packaged configs on a tiny model and fixture data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

FIXTURES = Path(__file__).parent / "fixtures"
TINY_CSV = FIXTURES / "sentiment_tiny.csv"
CONF = Path(__file__).parents[1] / "src" / "ftexp" / "conf"

TINY = [
    "model=tiny_bert",
    "data=local",
    f"data.path={TINY_CSV}",
    "data.labels=[neg,pos]",
    "data.batch_size=16",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def group_options(group: str) -> list[str]:
    """Every option of a config group, from the packaged conf folder."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def compose_cfg(overrides: list[str], out_dir: Path | None = None) -> DictConfig:
    """Compose ``train.yaml`` exactly as the CLI does (plus an explicit output dir)."""
    extra = [f"paths.output_dir={out_dir}"] if out_dir is not None else ["paths.output_dir=/tmp"]
    with initialize_config_module("ftexp.conf", version_base="1.3"):
        return compose("train", overrides=overrides + extra)


# metrics that must match exactly between an interrupted-and-resumed run and an uninterrupted one
RESUME_COMPARED = ("test/", "val/", "best/", "trainer/global_step")


def _ftexp_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment, with ``PYTHONHASHSEED`` fixed for repeatable runs."""
    return {**os.environ, "PYTHONHASHSEED": "0", **(extra or {})}


def run_ftexp(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m ftexp ARGS`` in a fresh process, as users run it; fails the test on error.

    ``env`` adds to the current environment.
    """
    done = subprocess.run(
        [sys.executable, "-m", "ftexp", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_ftexp_env(env),
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def refused(
    *args: str,
    command: str = "ftexp",
    timeout: int = 600,
    preexec_fn: Callable[[], None] | None = None,
) -> str:
    """``python -m COMMAND ARGS``, which must refuse cleanly (exit 2, no traceback). Its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", command, *args],
        capture_output=True,
        text=True,
        env=_ftexp_env(),
        timeout=timeout,
        preexec_fn=preexec_fn,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stderr


def start_ftexp(*args: str) -> subprocess.Popen[str]:
    """``python -m ftexp ARGS`` started in the background (to be signalled or killed)."""
    return subprocess.Popen(
        [sys.executable, "-m", "ftexp", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_ftexp_env(),
    )


def finished(proc: subprocess.Popen[str], timeout: int = 900) -> str:
    """Wait for a ``start_ftexp`` process; fail the test unless it succeeded. Its output."""
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-4000:]
    return out


def resume_outcome(run_dir: Path) -> dict[str, float]:
    """The metrics of a finished run that an exact resume must reproduce bit for bit."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k.startswith(RESUME_COMPARED)}


def build_module(cfg: DictConfig) -> tuple[Any, Any]:
    """The run's module (weights loaded) and data module (set up), built as ``train`` does."""
    from ftexp.checks.config_check import check_heavy
    from ftexp.run.wiring import build

    module, data = build(check_heavy(cfg))
    data.setup()
    module.configure_model()
    return module, data


def tiny_cfg(out_dir: Path, *overrides: str) -> DictConfig:
    """A tiny-model config on the fixture data, writing into ``out_dir``."""
    return compose_cfg([*TINY, *overrides], out_dir)


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    return


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The artifact cache (shared with real runs so CI downloads each artifact once)."""
    return Path(os.environ.get("FTEXP_CACHE", Path.home() / ".cache" / "ftexp"))
