"""Save and requeue on SLURM's warning signal, at a step boundary, so nothing trained is lost."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from ftexp.cluster import LAST_CHECKPOINT, requeue, slurm_job_id


class Requeued(SystemExit):
    """The run saved its state and was put back in the SLURM queue.

    A ``SystemExit``: job wrappers such as submitit must not record a result for this attempt;
    the requeued job resumes from the saved checkpoint and reports the real one.
    """


class RequeueOnSignal(L.Callback):
    """Save after the current step, requeue the SLURM job and exit when ``signal_name`` arrives.

    SLURM sends it before a time limit (``--signal=USR1@<s>``, set by ``hydra/launcher=slurm``)
    or as a preemption notice. The state goes to ``<run>/checkpoints/last.ckpt``; the requeued
    job finds it and resumes exactly (``ftexp.cluster.requeued_checkpoint``).

    The handler only sets a flag: saving inside a signal handler could capture a half-done
    optimizer step. Active only inside a SLURM job, where it takes the signal for the rest of
    the process (Lightning then leaves it alone); with several ranks, any rank's signal stops
    them all at the same step.
    """

    def __init__(self, signal_name: str = "SIGUSR1") -> None:
        self.signum = signal.Signals[signal_name]
        self.requested = False
        in_main_thread = threading.current_thread() is threading.main_thread()
        self.active = slurm_job_id() is not None and in_main_thread
        if self.active:  # now, while the model loads: the default action of SIGUSR1 is to die
            signal.signal(self.signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """After a finished step: if signalled, save, requeue and leave."""
        if not self.active:
            return
        if not trainer.strategy.reduce_boolean_decision(self.requested, all=False):
            return
        path = Path(trainer.default_root_dir) / LAST_CHECKPOINT
        trainer.save_checkpoint(path)
        job_id = slurm_job_id()
        assert job_id is not None
        if trainer.is_global_zero:
            requeue(job_id)
        rank_zero_info(
            f"[ftexp] {self.signum.name}: saved {path} at step {trainer.global_step} and "
            f"requeued SLURM job {job_id}; it resumes from there"
        )
        raise Requeued(0)
