"""Gradual unfreezing (ULMFiT): start with the head, unfreeze one more block every N units."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftexp.methods.base import train_head_and
from ftexp.methods.layerwise import LayerwiseLR
from ftexp.utils.params import below_blocks, train_all_rows, transformer_blocks

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask


@dataclass
class GradualUnfreeze(LayerwiseLR):
    """Howard & Ruder 2018 (arXiv:1801.06146): unfreeze top-down to avoid forgetting.

    Stage ``k`` (``k = progress // every``) trains the head plus the top ``k`` blocks; once every
    block is unfrozen the embeddings follow if ``unfreeze_embeddings``. The stage is computed
    from the trainer's progress, so resuming from a checkpoint restores it exactly.

    Attributes:
        every: units (epochs or optimiser steps) per stage.
        unit: ``epochs`` or ``steps``.
        open_all_by: when set, the fraction of the run's optimiser steps by which every stage
            has opened; the stage length follows from the run's length, so one setting serves
            every budget (a fixed ``every`` opens two blocks in 94 steps, all in a long run).
        unfreeze_embeddings: unfreeze the embeddings after the last block.
        also_train: substrings of parameter names that train from the start (e.g. ``pooler``).
    """

    lr: float = 1e-4
    every: int = 40
    unit: str = "steps"
    open_all_by: float | None = None
    unfreeze_embeddings: bool = False
    also_train: list[str] = field(default_factory=lambda: ["pooler"])

    def __post_init__(self) -> None:
        self.also_train = list(self.also_train)

    def problems(self) -> list[str]:
        """Check the schedule."""
        issues = super().problems()
        if self.every <= 0:
            issues.append(f"method.every must be > 0, got {self.every}")
        if self.unit not in ("epochs", "steps"):
            issues.append(f"method.unit must be epochs or steps, got {self.unit!r}")
        if self.open_all_by is not None:
            if not 0 < self.open_all_by <= 1:
                got = self.open_all_by
                issues.append(f"method.open_all_by is a fraction of the run, in (0, 1]: {got}")
            if self.unit != "steps":
                issues.append(
                    "method.open_all_by counts optimiser steps: drop method.unit=epochs, "
                    "or drop method.open_all_by and set method.every in epochs"
                )
        return issues

    def last_stage(self, blocks: int) -> int:
        """The stage at which everything that will train is open (the embeddings one past)."""
        return blocks + (1 if self.unfreeze_embeddings else 0)

    def stage_length(self, total_steps: int, blocks: int) -> int:
        """Units per stage: ``every``, or the run's steps spread so all opens by ``open_all_by``."""
        if self.open_all_by is None:
            return self.every
        return max(1, int(self.open_all_by * total_steps / self.last_stage(blocks)))

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Stage 0: only the head (and ``also_train``) trains."""
        self.set_stage(model, 0)
        return model

    def set_stage(self, model: nn.Module, stage: int) -> None:
        """Make the head plus the top ``stage`` blocks trainable."""
        train_head_and(model, self.also_train)
        blocks = list(transformer_blocks(model))
        for block in blocks[max(0, len(blocks) - stage) :]:
            block.requires_grad_(True)
        if self.unfreeze_embeddings and stage > len(blocks):
            below = below_blocks(model)
            for name, param in model.named_parameters():
                if name in below:
                    param.requires_grad_(True)
                    train_all_rows(param)  # pretrained rows too, where only added ones trained

    def optimizer_parameters(self, model: nn.Module) -> list[tuple[str, nn.Parameter]]:
        """Every parameter that will ever train, so the optimiser never has to be rebuilt."""
        below = below_blocks(model)
        return [
            (n, p)
            for n, p in model.named_parameters()
            if self.unfreeze_embeddings or n not in below or p.requires_grad
        ]

    def callbacks(self) -> list[Any]:
        """The schedule that advances the stage."""
        from ftexp.callbacks.unfreeze import UnfreezeSchedule

        return [UnfreezeSchedule(self)]
