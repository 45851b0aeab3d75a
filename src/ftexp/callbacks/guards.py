"""Stop a run whose loss stops being a number, before it overwrites good checkpoints."""

from __future__ import annotations

import lightning as L
import torch


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


class NonFiniteLossGuard(L.Callback):
    """Raise on the first NaN/inf training loss, naming the step and what to try.

    It checks before the backward pass, so the bad loss never reaches the weights, and no
    checkpoint of that step is written: ``last.ckpt`` and the best checkpoint hold the last good
    weights (resume from them with ``ckpt_path=last``).
    """

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        """Check the step's loss."""
        if not torch.isfinite(loss).all():
            raise NonFiniteLossError(
                f"training loss is {loss.item()} at step {trainer.global_step} "
                f"(epoch {trainer.current_epoch}); checkpoints keep the last "
                "finite weights. Try a lower optim.lr, trainer.gradient_clip_val=1.0, or "
                "trainer.precision=32-true / bf16-mixed instead of 16-mixed"
            )
