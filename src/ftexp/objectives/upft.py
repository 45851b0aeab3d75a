"""``objective=upft``: unsupervised prefix fine-tuning on the model's own reply prefixes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import CAUSAL_LM, ModelTask
from ftexp.objectives.objective import Objective
from ftexp.objectives.rl import GENERATES_UNDER_FSDP


@dataclass
class UPFT(Objective):
    """Ji et al. 2025 (arXiv:2503.02875); the data's reference replies are only evaluated.

    Attributes:
        prefix_tokens: k, tokens kept of each self-generated reply (the paper: 8-32).
        full_fraction: share of replies kept whole, so the model still learns to stop.
        max_new_tokens: length limit of the whole replies.
        temperature: sampling temperature.
        sample_batch_size: prompts per generation batch.
        seed: sampling seed.
    """

    # "prompt": the data's training examples carry a prompt to answer afresh
    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "labels", "prompt"})
    task: ClassVar[ModelTask] = CAUSAL_LM
    incompatible_strategies: ClassVar[dict[str, str]] = {"fsdp": GENERATES_UNDER_FSDP}

    prefix_tokens: int = 16
    full_fraction: float = 0.1
    max_new_tokens: int = 128
    temperature: float = 0.7
    sample_batch_size: int = 8
    seed: int = 0

    def problems(self) -> list[str]:
        """Check the prefix settings."""
        issues = []
        if self.prefix_tokens <= 0:
            issues.append("objective.prefix_tokens must be > 0 (the paper uses 8-32)")
        if not 0 <= self.full_fraction <= 1:
            issues.append("objective.full_fraction must be in [0, 1]")
        return issues

    def module_class(self) -> Any:
        """``UPFTModule``."""
        from ftexp.objectives.lightning.upft import UPFTModule

        return UPFTModule
