"""``objective=dpo``: direct preference optimisation against the untrained model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import CAUSAL_LM, ModelTask
from ftexp.objectives.objective import Objective
from ftexp.objectives.reward import PAIR_FIELDS


@dataclass
class DPO(Objective):
    """Rafailov et al. 2023 (arXiv:2305.18290).

    Attributes:
        beta: strength of the KL anchor to the reference (0.05-0.5 typical).
        label_smoothing: conservative DPO: assumed share of flipped preference labels.
    """

    needs: ClassVar[frozenset[str]] = PAIR_FIELDS | {"chosen_labels", "rejected_labels"}
    task: ClassVar[ModelTask] = CAUSAL_LM

    beta: float = 0.1
    label_smoothing: float = 0.0

    def problems(self) -> list[str]:
        """Check beta and the smoothing."""
        issues = []
        if self.beta <= 0:
            issues.append(f"objective.beta must be > 0, got {self.beta} (typical: 0.05-0.5)")
        if not 0 <= self.label_smoothing < 0.5:
            issues.append(
                f"objective.label_smoothing must be in [0, 0.5), got {self.label_smoothing}"
            )
        return issues

    def module_class(self) -> Any:
        """``DPOModule``."""
        from ftexp.objectives.lightning.preference import DPOModule

        return DPOModule
