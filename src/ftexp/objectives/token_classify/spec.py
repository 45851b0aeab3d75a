"""``objective=token_classify``: a tag per word (NER); entity-level precision / recall / F1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ftexp.contract import TOKEN_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective


@dataclass
class TokenClassify(Objective):
    """Cross-entropy on each word's first sub-token; entities scored by exact span and type."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "tags"})
    task: ClassVar[ModelTask] = TOKEN_CLASSIFICATION
    module: ClassVar[str] = "ftexp.objectives.token_classify.module.TokenClassifyModule"
    detail_metrics: ClassVar[tuple[str, ...]] = ("test/precision", "test/recall")

    @classmethod
    def collapsed(cls, metrics: dict[str, float]) -> bool:
        """Not one test entity found: what tagging every token ``O`` gives."""
        return metrics.get("test/recall") == 0
