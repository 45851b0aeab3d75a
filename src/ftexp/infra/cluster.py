"""What a run needs to know about SLURM: its job id, whether it was requeued, how to requeue."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def slurm_job_id() -> str | None:
    """This process's SLURM job id (``<array job>_<task>`` for array tasks), or None."""
    array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array_job and task:
        return f"{array_job}_{task}"
    return os.environ.get("SLURM_JOB_ID")


def restart_count() -> int:
    """How many times SLURM has requeued this job (0 for a first start or outside SLURM)."""
    return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)


def requeued_checkpoint(run_dir: Path) -> str | None:
    """The checkpoint a requeued job resumes from: its run dir's ``last.ckpt``, if any.

    A requeued job reruns the same command in the same run dir; resuming is what makes a
    preempted job finish instead of starting over. A first start never resumes implicitly.
    """
    last = run_dir / LAST_CHECKPOINT
    return str(last) if restart_count() > 0 and last.is_file() else None


def requeue(job_id: str) -> None:
    """Ask SLURM to put the job back in the queue; it restarts with the same command."""
    subprocess.run(["scontrol", "requeue", job_id], check=True, timeout=60)
