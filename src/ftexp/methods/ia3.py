"""(IA)^3 through PEFT: learned rescaling vectors on keys, values and FFN activations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftexp.methods.peft_base import PeftMethod

if TYPE_CHECKING:
    from peft import IA3Config

    from ftexp.contract import ModelTask


@dataclass
class IA3(PeftMethod):
    """Learned rescaling of inner activations: the fewest trainable parameters here.

    Liu et al. 2022, "Few-Shot Parameter-Efficient Fine-Tuning ..." (arXiv:2205.05638).

    Attributes:
        target_modules: modules whose outputs (or inputs, for feed-forward ones) are rescaled;
            ``null`` uses PEFT's defaults for the architecture (BERT: key, value, output.dense).
        feedforward_modules: the subset of targets that are feed-forward layers.
    """

    lr: float = 5e-3
    target_modules: list[str] | None = None
    feedforward_modules: list[str] | None = None

    def named_targets(self) -> list[str]:
        """The layers named in ``target_modules`` (none: PEFT's defaults)."""
        return list(self.target_modules or [])

    def task_problems(self, task: ModelTask) -> list[str]:
        """PEFT knows (IA)^3's targets in text transformers only: an image model names them."""
        if task.peft_task is not None or self.target_modules:
            return []
        return [
            f"method=ia3 takes its default targets from PEFT's text transformers; for a model for "
            f"{task.name} name them (method.target_modules=[...] and "
            "method.feedforward_modules=[...]), or use method=lora"
        ]

    def peft_config(self, task_type: str | None) -> IA3Config:
        """Return the PEFT IA3 config."""
        from peft import IA3Config

        return IA3Config(
            task_type=task_type,
            target_modules=self.target_modules,
            feedforward_modules=self.feedforward_modules,
        )
