"""``objective=simpo``: a length-normalised reward margin, with no reference model."""

from __future__ import annotations

from typing import cast

import torch

from ftexp.memory.passes import ModelPass, model_inputs
from ftexp.objectives.module import Batch, FinetuneModule, Stage
from ftexp.objectives.preference.losses import simpo_loss
from ftexp.objectives.preference.module import (
    PAIR_REWARD_MEANS,
    log_pair_rewards,
    response_logps,
    stack_pair,
)
from ftexp.objectives.preference.spec import SimPO


class SimPOModule(FinetuneModule):
    """SimPO (Meng et al. 2024): the reward of a response is ``beta`` x its average log-probability.

    No reference model and one forward pass over both responses. Logs ``{stage}/loss`` and the
    chosen and rejected rewards as DPO does.
    """

    eval_means = ("loss", *PAIR_REWARD_MEANS)

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """Both responses through the policy."""
        return [ModelPass(model_inputs(stack_pair(batch), frozenset({"input_ids", "labels"})))]

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """SimPO loss of one batch of pairs."""
        assert self.model is not None
        settings = cast(SimPO, self.objective)
        chosen, rejected = response_logps(self.model, stack_pair(batch), average=True).chunk(2)
        losses = simpo_loss(chosen, rejected, settings.beta, settings.gamma_beta_ratio)
        self.log_mean(stage, "loss", losses, prog_bar=True)
        beta = settings.beta
        log_pair_rewards(self, stage, beta * chosen.detach(), beta * rejected.detach())
        return losses.mean()
