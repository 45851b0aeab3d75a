"""``objective=orpo``: supervised fine-tuning on the chosen response plus an odds-ratio term."""

from __future__ import annotations

from typing import cast

import torch

from ftexp.memory.passes import ModelPass, model_inputs
from ftexp.objectives.module import Batch, FinetuneModule, Stage
from ftexp.objectives.preference.losses import log_odds, orpo_odds_ratio_loss
from ftexp.objectives.preference.module import (
    PAIR_REWARD_MEANS,
    log_pair_rewards,
    response_logps,
    stack_pair,
)
from ftexp.objectives.preference.spec import ORPO


class ORPOModule(FinetuneModule):
    """ORPO (Hong et al. 2024): ``NLL(chosen) + lambda * -log sigmoid(log odds ratio)``.

    No reference model and one forward pass over both responses. Logs ``{stage}/loss``,
    ``{stage}/nll`` (per-token, chosen responses), ``{stage}/odds_ratio_loss`` and as rewards
    the responses' log odds (``reward_acc``: the chosen one has the higher odds).
    """

    eval_means = ("loss", "nll", "odds_ratio_loss", *PAIR_REWARD_MEANS)

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """Both responses through the policy."""
        return [ModelPass(model_inputs(stack_pair(batch), frozenset({"input_ids", "labels"})))]

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """ORPO loss of one batch of pairs."""
        assert self.model is not None
        chosen, rejected = response_logps(self.model, stack_pair(batch), average=True).chunk(2)
        nll = -chosen
        odds_ratio = orpo_odds_ratio_loss(chosen, rejected)
        losses = nll + cast(ORPO, self.objective).beta * odds_ratio
        self.log_mean(stage, "loss", losses, prog_bar=True)
        self.log_mean(stage, "nll", nll.detach())
        self.log_mean(stage, "odds_ratio_loss", odds_ratio.detach())
        log_pair_rewards(self, stage, log_odds(chosen).detach(), log_odds(rejected).detach())
        return losses.mean()
