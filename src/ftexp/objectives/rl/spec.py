"""``objective=rl`` and ``objective=upft``: training on replies the model samples itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.contract import CAUSAL_LM, ModelTask
from ftexp.objectives.objective import Objective
from ftexp.objectives.rl.rewards import SINGLE, named_rewards, reward_problems

if TYPE_CHECKING:
    from ftexp.data.base import FinetuneData

GENERATES_UNDER_FSDP = (
    "it samples replies with generate(), which bypasses FSDP2's unsharding hooks (PEFT and HF "
    "call the inner model), so the sharded weights meet plain tensors; use trainer=ddp"
)


class RLLoss(StrEnum):
    """``objective.loss_type`` of ``objective=rl`` / ``rloo``: how the policy loss is formed."""

    GRPO = "grpo"  # token ratios, each reply's mean, then the mean over replies (Shao et al.)
    DR_GRPO = "dr_grpo"  # token sum over replies x max_new_tokens (Liu et al. 2025)
    DAPO = "dapo"  # token-level mean over the batch, clip-higher (Yu et al. 2025)
    GSPO = "gspo"  # one sequence-level ratio per reply (Zheng et al. 2025)


@dataclass
class RL(Objective):
    """GRPO (Shao et al. 2024, arXiv:2402.03300) on prompts; replies are sampled, not given.

    Attributes:
        reward: the reward function (a ``_target_`` node, see
            ``ftexp.objectives.rl.rewards``), or several by name (``{name: node}``) summed
            with ``reward_weights``; each built at config time, a model it needs loaded on
            first use.
        reward_weights: weight of each named reward (1 where not given).
        group_size: replies per prompt; advantages compare within the group.
        max_new_tokens: reply length limit.
        temperature: sampling temperature of the training replies.
        kl_beta: weight of the k3 KL(policy || reference) penalty per token.
        loss_type: grpo, dr_grpo, dapo or gspo (``RLLoss``).
        epsilon / epsilon_high: the ratio's clip range ``[1 - epsilon, 1 + epsilon_high]``
            (``epsilon_high`` null: ``epsilon``; DAPO's clip-higher: 0.28).
        scale_rewards: divide advantages by the group's standard deviation (Dr. GRPO: false).
        samples_every: write sample replies to ``<run>/samples.jsonl`` every N steps.
        num_iterations: optimiser steps on each batch of sampled replies (GRPO's mu). Above 1
            the ratio to the sampling policy moves off 1 and the clip acts; the data's batches
            are served that many times in a row, so an epoch takes that many times the steps.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"prompt_input_ids", "prompt_attention_mask"})
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.rl.grpo.GRPOModule"
    incompatible_strategies: ClassVar[dict[str, str]] = {"fsdp": GENERATES_UNDER_FSDP}

    reward: Any = None
    reward_weights: dict[str, float] | None = None
    group_size: int = 4
    max_new_tokens: int = 48
    temperature: float = 1.0
    kl_beta: float = 0.04
    loss_type: str = RLLoss.GRPO
    epsilon: float = 0.2
    epsilon_high: float | None = None
    scale_rewards: bool = True
    samples_every: int = 10
    num_iterations: int = 1

    @property
    def batch_repeats(self) -> int:
        """Each optimiser step's batches are served ``num_iterations`` times in a row."""
        return self.num_iterations

    def problems(self) -> list[str]:
        """Check the group, the loss and each reward (e.g. that its classifier run exists)."""
        issues = []
        if self.num_iterations < 1:
            issues.append(
                f"objective.num_iterations must be >= 1 (optimiser steps per batch of samples), "
                f"got {self.num_iterations}"
            )
        if self.group_size < 2:
            issues.append("objective.group_size must be >= 2 (advantages compare within a group)")
        if self.max_new_tokens <= 0:
            issues.append(f"objective.max_new_tokens must be > 0, got {self.max_new_tokens}")
        if self.loss_type not in set(RLLoss):
            names = ", ".join(RLLoss)
            issues.append(f"objective.loss_type must be one of {names}, got {self.loss_type!r}")
        if not 0 < self.epsilon < 1 or (self.epsilon_high is not None and self.epsilon_high <= 0):
            issues.append(
                f"objective.epsilon must be in (0, 1) and epsilon_high > 0, got "
                f"{self.epsilon} / {self.epsilon_high} (typical: 0.2 / 0.28)"
            )
        rewards = named_rewards(self.reward)
        for name, reward in rewards.items():
            if not callable(reward):
                issues.append(
                    f"objective.reward{'' if name == SINGLE else '.' + name} needs a _target_, "
                    "e.g. ftexp.rewards.ExactAnswer"
                )
            else:
                issues += reward_problems(reward)
        unknown = sorted(set(self.reward_weights or {}) - set(rewards))
        if unknown:
            issues.append(
                f"objective.reward_weights names {unknown}, not a reward of {sorted(rewards)}"
            )
        return issues

    def data_problems(self, data: FinetuneData) -> list[str]:
        """The example fields each reward reads against those the prompts carry."""
        carried = data.example_fields()
        issues = []
        for name, reward in named_rewards(self.reward).items():
            missing = [f for f in getattr(reward, "fields", []) if f not in carried]
            if missing:
                issues.append(
                    f"objective.reward ({name}) reads the example fields {missing}, the prompts "
                    f"carry {carried}: set data.fields (a column per field) or use a data "
                    "option that has them (e.g. data=arithmetic)"
                )
        return issues


@dataclass
class RLOO(RL):
    """REINFORCE leave-one-out (Ahmadian et al. 2024), sampled and trained as ``objective=rl``.

    Each reply's baseline is the mean reward of the other replies to its prompt.
    """

    module: ClassVar[str] = "ftexp.objectives.rl.rloo.RLOOModule"

    scale_rewards: bool = False


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
