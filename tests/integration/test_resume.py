"""Exact resume: a run killed with SIGKILL mid-epoch and resumed ends like an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from tests.conftest import TINY

RUN = [*TINY, "method=lora", "trainer.max_epochs=3", "data.batch_size=8", "save_model=false"]
COMPARED = ("test/", "val/", "best/", "trainer/global_step")


def ftexp(run_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ftexp", *RUN, f"hydra.run.dir={run_dir}", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def finished(proc: subprocess.Popen[str]) -> None:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]


def outcome(run_dir: Path) -> dict[str, float]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {k: v for k, v in metrics.items() if k.startswith(COMPARED)}


def test_kill_9_mid_epoch_then_resume_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    finished(ftexp(reference))

    victim = ftexp(resumed)
    last = resumed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert not (resumed / "metrics.json").exists(), "the run finished before it was killed"
    state = torch.load(last, weights_only=True)  # plain tensors and numbers only
    killed_at = state["global_step"]
    served = state["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]["served"]
    assert 0 < served < 10  # mid-epoch: 10 batches of 8 per epoch

    finished(ftexp(resumed, f"ckpt_path={last}"))
    assert outcome(resumed) == outcome(reference)  # bit-identical, not approximately
    assert outcome(resumed)["trainer/global_step"] > killed_at
