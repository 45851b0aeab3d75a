"""``objective=reward`` and ``objective=dpo``: learning from chosen / rejected pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ftexp.contract import CAUSAL_LM, SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective

PAIR_FIELDS = frozenset(
    f"{side}_{key}" for side in ("chosen", "rejected") for key in ("input_ids", "attention_mask")
)


@dataclass
class Reward(Objective):
    """A pairwise (Bradley-Terry) reward model: ``-log sigmoid(r_chosen - r_rejected)``."""

    needs: ClassVar[frozenset[str]] = PAIR_FIELDS
    task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION
    module: ClassVar[str] = "ftexp.objectives.preference.module.RewardModule"

    def head_labels(self, data_labels: list[str] | None) -> list[str] | None:
        """One output: the scalar reward."""
        return ["reward"]


@dataclass
class DPO(Objective):
    """Direct preference optimisation against the untrained model (Rafailov et al. 2023).

    Attributes:
        beta: strength of the KL anchor to the reference (0.05-0.5 typical).
        label_smoothing: conservative DPO: assumed share of flipped preference labels.
    """

    needs: ClassVar[frozenset[str]] = PAIR_FIELDS | {"chosen_labels", "rejected_labels"}
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.preference.module.DPOModule"

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
