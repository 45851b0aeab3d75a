"""``objective=sft`` and ``objective=mlm``: token-level language-model losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ftexp.contract import CAUSAL_LM, MASKED_LM, ModelTask
from ftexp.objectives.objective import Objective


@dataclass
class SFT(Objective):
    """Next-token cross-entropy where ``labels`` is not -100 (responses, packed rows)."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "labels"})
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.lm.module.CausalLMModule"


@dataclass
class MLM(Objective):
    """Masked-LM continued pretraining (domain adaptation): cross-entropy on masked tokens."""

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "mlm_labels"})
    task: ClassVar[ModelTask] = MASKED_LM
    module: ClassVar[str] = "ftexp.objectives.lm.module.MaskedLMModule"
