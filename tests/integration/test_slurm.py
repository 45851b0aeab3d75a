"""Against a real single-node SLURM (tests/cluster/slurm_up.sh): a 2-job multirun through
``hydra/launcher=slurm``, and a preempted job that requeues itself and resumes exactly."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import TINY, finished, resume_outcome, run_ftexp, start_ftexp

pytestmark = pytest.mark.slurm
RUN = [
    *TINY,
    "method=lora",
    "data.batch_size=8",  # 10 steps per epoch
    "trainer.max_epochs=12",
    "callbacks.early_stopping=null",
    "save_model=false",
]


@pytest.fixture(scope="module", autouse=True)
def slurm() -> None:
    """A responding slurmctld with an idle node, or skip (fail where SLURM is required)."""
    up = shutil.which("sinfo") is not None and subprocess.run(
        ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30
    ).stdout.strip() in {"idle", "mixed", "allocated"}
    if not up:
        reason = "no running SLURM here: start one with `make slurm-up` (root)"
        if os.environ.get("FTEXP_REQUIRE_SLURM"):
            pytest.fail(reason)
        pytest.skip(reason)


def multirun(sweep_dir: Path, *overrides: str) -> subprocess.Popen[str]:
    """``python -m ftexp -m hydra/launcher=slurm ...``: submits, then waits for the jobs."""
    return start_ftexp("-m", "hydra/launcher=slurm", f"hydra.sweep.dir={sweep_dir}", *overrides)


def job_ids(sweep_dir: Path) -> list[str]:
    """SLURM ids of the multirun's jobs (``<array>_<task>``, or a plain id for a single job)."""
    pickles = (sweep_dir / ".submitit").glob("*/*_submitted.pkl")
    return sorted(p.parent.name for p in pickles)


def sacct_states(job_id: str) -> list[tuple[str, str]]:
    """(job id, state) of every attempt, requeued ones included (``--duplicates``)."""
    for _ in range(50):  # accounting trails the controller by a moment
        out = subprocess.run(
            ["sacct", "-j", job_id, "-X", "-n", "-D", "-P", "-o", "JobID,State"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [tuple(line.split("|")) for line in out.split()]
        if rows and all(state not in {"RUNNING", "PENDING"} for _, state in rows):
            return rows  # type: ignore[return-value]
        time.sleep(0.2)
    raise AssertionError(f"sacct still shows running attempts: {rows}")


def start_when_requeued(job: str) -> None:
    """Waive the scheduler's begin-time delay (~2 min) on the requeued job; it changes nothing
    else about how the job runs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True
        ).stdout.strip()
        if state == "PENDING":
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job} was not requeued (state {state!r})")


def test_two_job_multirun_runs_as_a_slurm_array(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    finished(multirun(sweep, *TINY, "method=lora,full", "trainer.max_epochs=1", "save_model=false"))

    for job, method in ((0, "lora"), (1, "full")):
        config = (sweep / str(job) / "config.yaml").read_text()
        assert f"ftexp.methods.{method}." in config
        assert "test/acc" in json.loads((sweep / str(job) / "metrics.json").read_text())
    first, second = job_ids(sweep)
    array = first.split("_")[0]
    assert (first, second) == (f"{array}_0", f"{array}_1")  # one array job, two tasks
    assert sacct_states(array) == [(first, "COMPLETED"), (second, "COMPLETED")]


def test_sigusr1_requeues_the_job_and_it_resumes_exactly(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    run_ftexp(*RUN, f"hydra.run.dir={reference}")

    sweep = tmp_path / "sweep"
    launcher = multirun(sweep, *RUN)
    last = sweep / "0" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 600
    while not last.exists() and time.monotonic() < deadline and launcher.poll() is None:
        time.sleep(0.05)
    (job,) = job_ids(sweep)
    subprocess.run(["scancel", "--signal=USR1", job], check=True)  # what SLURM sends at preemption
    start_when_requeued(job)
    finished(launcher)

    attempts = sacct_states(job)
    assert [state for _, state in attempts] == ["REQUEUED", "COMPLETED"], attempts
    log = (sweep / "0" / "__main__.log").read_text()
    saved = re.search(r"SIGUSR1: saved .*last\.ckpt at step (\d+) and requeued", log)
    assert saved is not None, log[-3000:]
    assert 0 < int(saved.group(1)) < 120  # stopped mid-run (12 epochs x 10 steps)
    assert f"resuming from {last}" in log
    # nothing lost, nothing redone differently
    assert resume_outcome(sweep / "0") == resume_outcome(reference)
