"""``objective=reward``: a pairwise (Bradley-Terry) reward model on preference pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective

PAIR_FIELDS = frozenset(
    f"{side}_{key}" for side in ("chosen", "rejected") for key in ("input_ids", "attention_mask")
)


@dataclass
class Reward(Objective):
    """``-log sigmoid(r_chosen - r_rejected)`` with a one-output head."""

    needs: ClassVar[frozenset[str]] = PAIR_FIELDS
    task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION

    def head_labels(self, data_labels: list[str] | None) -> list[str] | None:
        """One output: the scalar reward."""
        return ["reward"]

    def module_class(self) -> Any:
        """``RewardModule``."""
        from ftexp.objectives.lightning.preference import RewardModule

        return RewardModule
