"""The callback that advances gradual unfreezing from the trainer's progress."""

from __future__ import annotations

from typing import Any

import lightning as L

from ftexp.utils.params import transformer_blocks


class UnfreezeSchedule(L.Callback):
    """Applies ``GradualUnfreeze.set_stage`` from the trainer's epoch or global step."""

    def __init__(self, method: Any) -> None:
        self.method = method
        self.stage = -1
        self.every = 0
        self.blocks = 0

    def _update(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.every:  # the run's length is known once fitting starts
            self.blocks = len(transformer_blocks(pl_module.model))
            total = int(trainer.estimated_stepping_batches)
            self.every = self.method.stage_length(total, self.blocks)
        progress = trainer.current_epoch if self.method.unit == "epochs" else trainer.global_step
        stage = min(progress // self.every, self.method.last_stage(self.blocks))
        if stage != self.stage:
            self.method.set_stage(pl_module.model, stage)
            self.stage = stage
            pl_module.recount_trainable()
            opened = float(min(stage, self.blocks))
            pl_module.log("method/unfrozen_blocks", opened, on_step=True, on_epoch=False)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object
    ) -> None:
        """Advance the stage when due."""
        self._update(trainer, pl_module)
