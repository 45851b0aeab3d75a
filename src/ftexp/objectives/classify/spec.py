"""``objective=classify``: one class per example (cross-entropy; accuracy, macro-F1, AUROC)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ftexp.contract import SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective

if TYPE_CHECKING:
    from ftexp.data.base import DataOption

COLLAPSED = 0.98  # a run predicting one class for this share of the test split learned nothing


class ScoredAsClassifier:
    """How a comparison reads an objective scored as a classifier (accuracy, F1, AUROC).

    F1 stands beside the headline, and a run that gave (nearly) every test example the same
    class learned nothing. Mixed into every objective that logs the classifier's metrics.
    """

    detail_metrics: ClassVar[tuple[str, ...]] = ("test/f1",)

    @classmethod
    def collapsed(cls, metrics: dict[str, float]) -> bool:
        """One class for nearly every test example."""
        return metrics.get("test/top_class_share", 0.0) >= COLLAPSED


@dataclass
class Classify(ScoredAsClassifier, Objective):
    """One label per example, a fresh head sized by the data's classes, in any modality.

    The model is the classifier of the data's modality (``classifier_task``: text -> sequence
    classification, images -> image classification), so a new modality needs no edit here.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"label"})
    task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION
    module: ClassVar[str] = "ftexp.objectives.classify.module.ClassifyModule"

    @classmethod
    def fields(cls, data: DataOption) -> frozenset[str]:
        """The label, and the inputs of the data's kind of classifier."""
        return cls.needs | cls.model_task(data).inputs

    @classmethod
    def model_task(cls, data: DataOption) -> ModelTask:
        """The data's kind of classifier."""
        task: ModelTask = data.classifier_task
        return task
