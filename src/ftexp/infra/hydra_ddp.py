"""Hydra multirun x Lightning DDP: each job's extra ranks join that job, not a new sweep.

Lightning starts ranks 1..N-1 by re-running ``sys.argv`` with ``hydra.run.dir`` set to
``HydraConfig.run.dir``. Inside a multirun that command line is the whole sweep (``-m`` and its
value lists) and ``run.dir`` is not the job's dir, so every extra rank would start a sweep of
its own (Lightning #11300, Hydra #2070). Inside SLURM or torchrun the ranks are started
externally and none of this applies.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write

from ftexp.infra.sweep_resume import in_multirun_job

# set by Lightning's launcher for one job; left in place, the next job would take LOCAL_RANK
# as "ranks started externally" and wait for ranks that never come
_LAUNCHER_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


_SWEEP_COMMAND: list[str] = []  # the multirun's own command line, before a job pins its own


def sweep_command_line() -> list[str]:
    """The command line the user typed (inside a multirun job too)."""
    return list(_SWEEP_COMMAND) or list(sys.argv)


@contextmanager
def ddp_ready_multirun_job() -> Iterator[None]:
    """Around one job: point DDP re-launches at this job, and free its process group after.

    A single run frees its process group too once every rank has finished: left to the
    interpreter's exit, c10d's background threads can abort a rank ("terminate called without
    an active exception"), and Lightning's launcher then kills the job's other ranks.
    """
    if not in_multirun_job():
        yield
        _free_process_group()
        return
    saved_argv, saved_env = list(sys.argv), {k: os.environ.get(k) for k in _LAUNCHER_ENV}
    _SWEEP_COMMAND[:] = saved_argv
    _pin_relaunch_to_job()
    try:
        yield
    except BaseException:
        _free_process_group(wait=False)  # a peer may be gone: waiting for it could hang
        raise
    else:
        # a barrier first: rank 1 of this job waits in its own; leaving it alone fails its
        # exit, and Lightning's watch over job 0's ranks then kills the next job's rank 0
        _free_process_group()
    finally:
        sys.argv[:] = saved_argv
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _free_process_group(wait: bool = True) -> None:
    """Destroy the default process group, after every rank got here when ``wait``."""
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def _pin_relaunch_to_job() -> None:
    """Make ``sys.argv`` this job's single-run command and ``hydra.run.dir`` its output dir."""
    hydra = HydraConfig.get()
    sys.argv[:] = [sys.argv[0], *hydra.overrides.task]
    with read_write(hydra), open_dict(hydra):
        hydra.run.dir = hydra.runtime.output_dir
