"""``objective=rl`` and ``objective=upft``: training on replies the model samples itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import CAUSAL_LM, ModelTask
from ftexp.objectives.objective import Objective

GENERATES_UNDER_FSDP = (
    "it samples replies with generate(), which bypasses FSDP2's unsharding hooks (PEFT and HF "
    "call the inner model), so the sharded weights meet plain tensors; use trainer=ddp"
)


@dataclass
class RL(Objective):
    """GRPO (Shao et al. 2024, arXiv:2402.03300) on prompts; replies are sampled, not given.

    Attributes:
        reward: the reward function (a ``_target_`` node in YAML, e.g. ``ftexp.rewards``);
            built at config time, its model loaded on first use.
        group_size: replies per prompt; advantages are standardised within the group.
        max_new_tokens: reply length limit.
        temperature: sampling temperature of the training replies.
        kl_beta: weight of the k3 KL(policy || reference) penalty per token.
        samples_every: write sample replies to ``<run>/samples.jsonl`` every N steps.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"prompt_input_ids", "prompt_attention_mask"})
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.rl.grpo.GRPOModule"
    incompatible_strategies: ClassVar[dict[str, str]] = {"fsdp": GENERATES_UNDER_FSDP}

    reward: Any = None
    group_size: int = 4
    max_new_tokens: int = 48
    temperature: float = 1.0
    kl_beta: float = 0.04
    samples_every: int = 10

    def problems(self) -> list[str]:
        """Check the group size and the reward (e.g. that its classifier run exists)."""
        issues = []
        if self.group_size < 2:
            issues.append("objective.group_size must be >= 2 (advantages compare within a group)")
        if self.max_new_tokens <= 0:
            issues.append(f"objective.max_new_tokens must be > 0, got {self.max_new_tokens}")
        if not callable(self.reward):
            return [
                *issues,
                "objective.reward needs a _target_, e.g. ftexp.rewards.CharacterReward",
            ]
        if callable(getattr(self.reward, "problems", None)):
            issues += self.reward.problems()
        return issues


@dataclass
class UPFT(Objective):
    """Unsupervised prefix fine-tuning (Ji et al. 2025, arXiv:2503.02875).

    Trains on the first tokens of the model's own replies; the data's reference replies are
    only evaluated.

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
    module: ClassVar[str] = "ftexp.objectives.rl.upft.UPFTModule"
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
