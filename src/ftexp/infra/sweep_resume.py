"""A multirun (``-m``) killed mid-sweep and started again with the same command goes on.

Two halves:

* **The same sweep dir.** The default ``hydra.sweep.dir`` is ``${sweep_dir:...}``: a new,
  timestamped dir, recorded under ``<log_dir>/multirun/.unfinished/<command hash>`` until
  the sweep completes. Started again with the same overrides while that record exists, the
  sweep takes the recorded dir instead. The value is cached in the config (Hydra copies the
  cache into every job, SLURM jobs too), so every job of one sweep agrees on it.
* **Each job picks up its own dir.** A job whose dir holds ``metrics.json`` from an earlier
  attempt returns that result without training; one that left a ``last.ckpt`` resumes from
  it (exactly, as any resume); one stopped before its first checkpoint starts again there.

A finished sweep deletes its record, so the same command afterwards starts a new sweep.
An explicit ``hydra.sweep.dir=<dir>`` resumes the sweep in that dir the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig

from ftexp.infra.cluster import LAST_CHECKPOINT
from ftexp.utils.io import atomic_write_text
from ftexp.utils.run_dir import CLAIM

RECORDS = Path("multirun") / ".unfinished"
_CHOSEN: dict[str, Path] = {}  # this process's sweep dir, per log dir


def sweep_dir(log_dir: str, new_name: str) -> str:
    """The sweep dir of this command: an unfinished earlier one's, else ``log_dir/new_name``."""
    if log_dir in _CHOSEN:
        return str(_CHOSEN[log_dir])
    record = _record(Path(log_dir))
    earlier = Path(record.read_text(encoding="utf-8").strip()) if record.is_file() else None
    if earlier is not None and earlier.is_dir():
        print(f"[ftexp] this sweep was stopped before it finished: going on in {earlier}")
        chosen = earlier
    else:
        chosen = Path(log_dir) / "multirun" / new_name
        atomic_write_text(record, f"{chosen}\n")
    _CHOSEN[log_dir] = chosen
    return str(chosen)


def new_sweep_name(run_id: str) -> str:
    """A fresh sweep dir name: the date, the time and the launching process's run id."""
    return datetime.now().strftime(f"%Y-%m-%d/%H-%M-%S-{run_id}")


def sweep_finished() -> None:
    """The sweep completed: its record goes, so the same command next time starts anew."""
    for log_dir in list(_CHOSEN):
        _record(Path(log_dir)).unlink(missing_ok=True)
        del _CHOSEN[log_dir]


def _record(log_dir: Path) -> Path:
    """Where the unfinished sweep of this command line is recorded."""
    return log_dir / RECORDS / _command_key(sys.argv[1:])


def _command_key(arguments: list[str]) -> str:
    """A hash of the command's overrides, in the order typed (the sweep's jobs follow it)."""
    kept = [a for a in arguments if not a.startswith(("hydra.sweep.dir=", "--multirun", "-m"))]
    digest = hashlib.sha256(json.dumps([os.getcwd(), kept]).encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True)
class EarlierAttempt:
    """What an earlier attempt of this job left in its dir.

    Attributes:
        metrics: its final metrics when it finished (the job is not run again).
        checkpoint: its ``last.ckpt`` when it stopped after one (the job resumes from it).
        started: whether it claimed the dir at all (one stopped before any checkpoint).
    """

    metrics: dict[str, float] | None
    checkpoint: Path | None
    started: bool


def earlier_attempt(out_dir: Path) -> EarlierAttempt:
    """Read what an earlier attempt of the job in ``out_dir`` left there."""
    metrics_file, last = out_dir / "metrics.json", out_dir / LAST_CHECKPOINT
    metrics = (
        json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else None
    )
    return EarlierAttempt(
        metrics=metrics,
        checkpoint=last if last.is_file() else None,
        started=(out_dir / CLAIM).is_file(),
    )


def in_multirun_job() -> bool:
    """Whether this process runs a job of a Hydra multirun."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def job_number() -> str:
    """This multirun job's number, for messages."""
    from hydra.core.hydra_config import HydraConfig

    return str(HydraConfig.get().job.num)


def kept_result(cfg: DictConfig) -> dict[str, float] | None:
    """A multirun job that finished in an earlier attempt: its metrics (not run again)."""
    if not in_multirun_job():
        return None
    out_dir = Path(cfg.paths.output_dir)
    metrics = earlier_attempt(out_dir).metrics
    if metrics is not None:
        print(f"[ftexp] job {job_number()} finished in an earlier attempt: kept {out_dir}")
    return metrics


def resumable_job(cfg: DictConfig) -> tuple[Path | None, bool]:
    """A multirun job an earlier attempt left unfinished: its ``last.ckpt``, and whether it began.

    ``(None, False)`` outside a multirun or for a job that never ran.
    """
    if not in_multirun_job() or cfg.get("ckpt_path"):
        return None, False
    out_dir = Path(cfg.paths.output_dir)
    attempt = earlier_attempt(out_dir)
    if attempt.checkpoint is not None:
        print(
            f"[ftexp] job {job_number()} stopped in an earlier attempt: resuming it from "
            f"{attempt.checkpoint}"
        )
    elif attempt.started:
        print(f"[ftexp] job {job_number()} stopped before its first checkpoint: starting again")
    return attempt.checkpoint, attempt.started
