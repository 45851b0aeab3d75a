"""``objective=classify``: sequence classification (cross-entropy; accuracy, macro-F1, AUROC)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective


@dataclass
class Classify(Objective):
    """One label per example, a fresh head sized by the data's classes."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "label"})
    task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION

    def module_class(self) -> Any:
        """``ClassifyModule``."""
        from ftexp.objectives.lightning.classify import ClassifyModule

        return ClassifyModule
