"""``objective=token_classify``: a tag per word (NER); entity-level precision / recall / F1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import TOKEN_CLASSIFICATION, ModelTask
from ftexp.objectives.objective import Objective


@dataclass
class TokenClassify(Objective):
    """Cross-entropy on each word's first sub-token; entities scored by exact span and type."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "tags"})
    task: ClassVar[ModelTask] = TOKEN_CLASSIFICATION

    def module_class(self) -> Any:
        """``TokenClassifyModule``."""
        from ftexp.objectives.lightning.token_classify import TokenClassifyModule

        return TokenClassifyModule
