"""``objective=reward`` (Bradley-Terry) and ``objective=dpo``; the pair helpers of the others."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ftexp.batch import IGNORE
from ftexp.memory.passes import ModelPass, model_inputs
from ftexp.objectives.module import Batch, FinetuneModule, Stage
from ftexp.objectives.preference.losses import PAIR_LOSSES, dpo_loss
from ftexp.objectives.preference.spec import DPO, DPOLoss
from ftexp.objectives.reference import ReferencePolicyModule


def stack_pair(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Chosen rows then rejected rows as one batch (one forward pass for both)."""
    return {
        key: torch.cat([batch[f"chosen_{key}"], batch[f"rejected_{key}"]])
        for key in ("input_ids", "attention_mask", "labels")
    }


class RewardModule(FinetuneModule):
    """Pairwise reward model (Bradley-Terry): ``loss = -log sigmoid(r_chosen - r_rejected)``.

    The backbone is a sequence classifier with one output. Logs ``{stage}/loss``,
    ``{stage}/acc`` (share of pairs ranked right) and ``{stage}/margin``.
    """

    eval_means = ("loss", "acc", "margin")

    def rewards(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Scalar rewards of the chosen and the rejected responses."""
        assert self.model is not None
        both = stack_pair(batch)
        scores = self.model(input_ids=both["input_ids"], attention_mask=both["attention_mask"])
        chosen, rejected = scores.logits.float().squeeze(-1).chunk(2)
        return chosen, rejected

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """Chosen and rejected responses in one pass."""
        return [ModelPass({"input_ids": stack_pair(batch)["input_ids"]})]

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """Bradley-Terry loss and ranking accuracy of one batch of pairs."""
        chosen, rejected = self.rewards(batch)
        losses = -F.logsigmoid(chosen - rejected)
        self.log_mean(stage, "loss", losses, prog_bar=True)
        self.log_mean(stage, "acc", (chosen > rejected).float(), prog_bar=stage != "train")
        self.log_mean(stage, "margin", chosen - rejected)
        return losses.mean()


def sequence_logps(
    logits: torch.Tensor, labels: torch.Tensor, average: bool = False
) -> torch.Tensor:
    """Log-probability of the labelled (non -100) next tokens per sequence: summed or averaged."""
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    mask = labels != IGNORE
    picked = torch.gather(logits.log_softmax(-1), 2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    total = (picked * mask).sum(-1)
    return total / mask.sum(-1).clamp(min=1) if average else total


def response_logps(
    model: nn.Module, both: dict[str, torch.Tensor], average: bool = False
) -> torch.Tensor:
    """Response log-probabilities of every row of ``both`` under ``model``."""
    out = model(input_ids=both["input_ids"], attention_mask=both["attention_mask"], use_cache=False)
    return sequence_logps(out.logits, both["labels"], average)


def log_pair_rewards(
    module: FinetuneModule, stage: Stage, chosen: torch.Tensor, rejected: torch.Tensor
) -> None:
    """Log a batch's implicit rewards: how often and by how much the chosen one leads."""
    values = {
        "reward_acc": (chosen > rejected).float(),
        "reward_margin": chosen - rejected,
        "reward_chosen": chosen,
        "reward_rejected": rejected,
    }
    for name, value in values.items():
        module.log_mean(stage, name, value)


PAIR_REWARD_MEANS = ("reward_acc", "reward_margin", "reward_chosen", "reward_rejected")


class DPOModule(ReferencePolicyModule):
    """Direct preference optimisation of a causal LM against a frozen reference.

    ``objective.loss_type`` picks the loss on the implicit-reward margin (sigmoid, hinge, IPO).
    The reference: see ``ReferencePolicyModule``. Logs ``{stage}/loss``,
    ``{stage}/reward_acc``, ``{stage}/reward_margin`` and the chosen and rejected implicit
    rewards.
    """

    eval_means = ("loss", *PAIR_REWARD_MEANS)

    @property
    def settings(self) -> DPO:
        """The ``objective.*`` settings."""
        return cast(DPO, self.objective)

    def logps(self, model: nn.Module, both: dict[str, torch.Tensor]) -> torch.Tensor:
        """Response log-probabilities under ``model`` (averaged per token where the loss says)."""
        return response_logps(model, both, PAIR_LOSSES[DPOLoss(self.settings.loss_type)].averaged)

    def reference_logps(self, both: dict[str, torch.Tensor]) -> torch.Tensor:
        """Response log-probabilities under the reference (no gradients)."""
        with self.reference() as reference:
            return self.logps(reference, both)

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """Both responses through the policy (with their log-probabilities) and the reference."""
        both = model_inputs(stack_pair(batch), frozenset({"input_ids", "labels"}))
        return [ModelPass(both), ModelPass(both, grad=False, reference=True)]

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """The preference loss and implicit-reward accuracy of one batch of pairs."""
        assert self.model is not None
        both = stack_pair(batch)
        policy_chosen, policy_rejected = self.logps(self.model, both).chunk(2)
        reference_chosen, reference_rejected = self.reference_logps(both).chunk(2)
        losses, chosen, rejected = dpo_loss(
            policy_chosen,
            policy_rejected,
            reference_chosen,
            reference_rejected,
            self.settings.beta,
            self.settings.label_smoothing,
            self.settings.loss_type,
        )
        self.log_mean(stage, "loss", losses, prog_bar=True)
        log_pair_rewards(self, stage, chosen, rejected)
        return losses.mean()
