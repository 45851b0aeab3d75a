"""``objective=mlm``: masked-LM continued pretraining (domain adaptation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import MASKED_LM, ModelTask
from ftexp.objectives.objective import Objective


@dataclass
class MLM(Objective):
    """Cross-entropy on the masked tokens (``mlm_labels`` not -100)."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "mlm_labels"})
    task: ClassVar[ModelTask] = MASKED_LM

    def module_class(self) -> Any:
        """``MaskedLMModule``."""
        from ftexp.objectives.lightning.causal_lm import MaskedLMModule

        return MaskedLMModule
