"""``objective=multitask``: classification plus a masked-LM auxiliary loss, one shared encoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import MASKED_LM, SEQUENCE_CLASSIFICATION, ModelTask
from ftexp.objectives.classify.spec import ScoredAsClassifier
from ftexp.objectives.objective import Objective

TASKS = ("classify", "mlm")


@dataclass
class Multitask(ScoredAsClassifier, Objective):
    """Classify the data's texts and predict masked tokens of the same texts, jointly.

    One encoder feeds two heads: the classifier (the model that is saved, tested and served)
    and a masked-LM head (a training aid, not saved). Total loss =
    ``alpha_classify(t) * L_classify + alpha_mlm(t) * L_mlm`` with the weighting picked by
    ``objective/weighting=static|linear|cosine|uncertainty``. Each step masks a fresh
    ``mlm_probability`` of the batch's tokens (BERT's 80/10/10 rule) for the auxiliary pass.

    Attributes:
        weighting: the loss weighting spec (``ftexp.objectives.multitask.weighting``).
        mlm_probability: share of real tokens masked for the auxiliary loss.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "label"})
    task: ClassVar[ModelTask] = SEQUENCE_CLASSIFICATION
    module: ClassVar[str] = "ftexp.objectives.multitask.module.MultitaskModule"
    auxiliary_tasks: ClassVar[tuple[ModelTask, ...]] = (MASKED_LM,)
    incompatible_strategies: ClassVar[dict[str, str]] = {
        "fsdp": "its masked-LM head shares the encoder's embedding matrix, which FSDP2 shards "
        "inside the classifier (use trainer=ddp or deepspeed)"
    }
    tasks: ClassVar[tuple[str, ...]] = TASKS

    weighting: Any = None
    mlm_probability: float = 0.15

    def problems(self) -> list[str]:
        """The masking share and the weighting's settings."""
        issues = []
        if not 0 < self.mlm_probability < 1:
            issues.append(
                f"objective.mlm_probability must be in (0, 1), got {self.mlm_probability}"
            )
        if not callable(getattr(self.weighting, "build", None)):
            issues.append(
                "objective.weighting must be a weighting spec: pick one with "
                "objective/weighting=static|linear|cosine|uncertainty"
            )
            return issues
        return issues + self.weighting.problems(self.tasks)
