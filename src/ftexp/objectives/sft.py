"""``objective=sft``: causal-LM loss on the tokens the data labels (responses, packed rows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import CAUSAL_LM, ModelTask
from ftexp.objectives.objective import Objective


@dataclass
class SFT(Objective):
    """Next-token cross-entropy where ``labels`` is not -100."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "labels"})
    task: ClassVar[ModelTask] = CAUSAL_LM

    def module_class(self) -> Any:
        """``CausalLMModule``."""
        from ftexp.objectives.lightning.causal_lm import CausalLMModule

        return CausalLMModule
