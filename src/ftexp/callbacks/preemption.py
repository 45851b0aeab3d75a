"""Stop on a signal at a step boundary, with ``last.ckpt`` saved, so nothing trained is lost.

* ``RequeueOnSignal``: SLURM's warning signal (``--signal=USR1@<s>``): save, requeue, exit 0.
* ``StopOnSignal``: SIGTERM (``kill``, container stops, schedulers) and Ctrl-C: save, print
  how to resume, exit 128 + the signal's number, as a process stopped by it would.

The handlers only set a flag: saving inside a signal handler could capture a half-done
optimizer step. The save happens after the step that was running; with several ranks, any
rank's signal stops them all at the same step.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from ftexp.infra.cluster import LAST_CHECKPOINT, requeue, slurm_job_id


class Requeued(SystemExit):
    """The run saved its state and was put back in the SLURM queue.

    A ``SystemExit``: job wrappers such as submitit must not record a result for this attempt;
    the requeued job resumes from the saved checkpoint and reports the real one.
    """


class Stopped(SystemExit):
    """The run saved its state after a SIGTERM or Ctrl-C and stopped; it resumes from there."""


class _SaveAfterStep(L.Callback):
    """Note ``signals`` (from construction, in the main thread) and save after the next step."""

    def __init__(self, signals: list[signal.Signals], active: bool) -> None:
        self.signals = signals
        self.received: signal.Signals | None = None
        self.saved_step: int | None = None  # the step the newest checkpoint holds
        self.active = active and threading.current_thread() is threading.main_thread()
        if self.active:  # now, while the model loads: the default action may be to die
            for signum in signals:
                signal.signal(signum, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Note the step a checkpoint holds: a stop inside a validation resumes from it."""
        self.saved_step = int(checkpoint["global_step"])

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """A resumed run's newest checkpoint is the one it resumed from, until it saves.

        Testing the best checkpoint after training loads it too; that one is not the newest.
        """
        if trainer.state.fn == TrainerFn.FITTING:
            self.saved_step = int(checkpoint["global_step"])

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """After a finished step: if signalled (on any rank), save ``last.ckpt`` and stop."""
        if self.active and trainer.strategy.reduce_boolean_decision(
            self.received is not None, all=False
        ):
            if _validation_follows(trainer):  # saved now, the resumed run would skip it
                return  # the step after it saves (same on every rank: same step)
            path = Path(trainer.default_root_dir) / LAST_CHECKPOINT
            trainer.save_checkpoint(path)
            self.stop(trainer, path)

    def stop(self, trainer: L.Trainer, path: Path) -> None:
        """Leave the run after its state was saved to ``path``."""
        raise NotImplementedError


class RequeueOnSignal(_SaveAfterStep):
    """Save after the current step, requeue the SLURM job and exit when ``signal_name`` arrives.

    The requeued job finds ``<run>/checkpoints/last.ckpt`` and resumes exactly
    (``ftexp.infra.cluster.requeued_checkpoint``). Active only inside a SLURM job.
    """

    def __init__(self, signal_name: str = "SIGUSR1") -> None:
        self.signum = signal.Signals[signal_name]
        super().__init__([self.signum], active=slurm_job_id() is not None)

    def stop(self, trainer: L.Trainer, path: Path) -> None:
        """Requeue the job (rank 0) and exit 0."""
        job_id = slurm_job_id()
        assert job_id is not None
        if trainer.is_global_zero:
            requeue(job_id)
        rank_zero_info(
            f"[ftexp] {self.signum.name}: saved {path} at step {trainer.global_step} and "
            f"requeued SLURM job {job_id}; it resumes from there"
        )
        raise Requeued(0)


class StopOnSignal(_SaveAfterStep):
    """On SIGTERM or Ctrl-C: finish the step, save ``last.ckpt``, say how to resume, exit.

    A second Ctrl-C while the step finishes stops at once (Python's ``KeyboardInterrupt``).
    """

    def __init__(self, signal_names: list[str] | tuple[str, ...] = ("SIGTERM", "SIGINT")) -> None:
        self.training = False
        super().__init__([signal.Signals[name] for name in signal_names], active=True)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        second = self.received is not None
        if not self.training or second:  # nothing to save yet, or the user insists: stop now
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            if not second and rank_zero_only.rank == 0:
                print(
                    f"[ftexp] {signal.Signals(signum).name}: stopped outside training "
                    f"(nothing to save); {self._resume_hint()}",
                    file=sys.stderr,
                    flush=True,
                )
            raise Stopped(128 + signum)
        super()._note(signum, frame)

    def _resume_hint(self) -> str:
        if self.saved_step is None:
            return "no checkpoint was saved by this run"
        return f"its newest checkpoint holds step {self.saved_step}"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """From here a signal waits for the step to finish and saves."""
        self.training = True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """After training a signal stops at once (the last checkpoint is on disk)."""
        self.training = False

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """Lightning's own SIGTERM exit (raised between steps or in validation): say how to resume.

        Between training steps the state is saved first; inside a validation the
        ``last.ckpt`` of the previous validation is the one to resume from.
        """
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        if not (self.active and isinstance(exception, SIGTERMException)):
            return
        self.received = self.received or signal.SIGTERM
        path = Path(trainer.default_root_dir) / LAST_CHECKPOINT
        if trainer.training:
            trainer.save_checkpoint(path)
        self.stop(trainer, path)

    def stop(self, trainer: L.Trainer, path: Path) -> None:
        """Print the resume command and exit with 128 + the signal's number."""
        assert self.received is not None
        self.training = False
        name = "Ctrl-C" if self.received == signal.SIGINT else self.received.name
        # inside a validation nothing is saved: what follows the newest checkpoint is redone
        step = trainer.global_step if self.saved_step is None else self.saved_step
        if trainer.is_global_zero:
            then = (
                f"resume with the same command plus ckpt_path={path}"
                if path.is_file()
                else "no checkpoint was saved yet: run the same command again"
            )
            print(
                f"[ftexp] {name}: stopped at step {step}; {then}",
                file=sys.stderr,
                flush=True,
            )
        raise Stopped(128 + int(self.received))


def _validation_follows(trainer: L.Trainer) -> bool:
    """Whether Lightning validates right after the step that just ended (mid- or end-epoch)."""
    loop = trainer.fit_loop
    try:
        return bool(loop.epoch_loop._should_check_val_fx(loop._data_fetcher))
    except (AttributeError, TypeError):  # another Lightning's loop internals: save at once
        return False
