"""The preference losses, as functions of response log-probabilities (checked by hand in tests).

Each takes per-sequence log-probabilities of the chosen and rejected responses: summed over the
response tokens, or averaged over them where the loss is defined on the average (IPO, ORPO,
SimPO; ``PAIR_LOSSES[name].averaged``). Each returns the loss of every pair (or example).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ftexp.objectives.preference.spec import DPOLoss


@dataclass(frozen=True)
class Margins:
    """Implicit rewards of one batch of pairs: ``beta * (log pi - log pi_ref)`` per response."""

    chosen: torch.Tensor
    rejected: torch.Tensor

    @property
    def difference(self) -> torch.Tensor:
        """Chosen minus rejected reward."""
        return self.chosen - self.rejected


def implicit_reward(policy: torch.Tensor, reference: torch.Tensor, beta: float) -> torch.Tensor:
    """DPO's implicit reward of each response, ``beta * (log pi - log pi_ref)``."""
    return beta * (policy - reference)


def implicit_rewards(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
) -> Margins:
    """DPO's implicit reward of each response (Rafailov et al. 2023)."""
    return Margins(
        implicit_reward(policy_chosen, reference_chosen, beta),
        implicit_reward(policy_rejected, reference_rejected, beta),
    )


def sigmoid_loss(margins: Margins, beta: float, label_smoothing: float) -> torch.Tensor:
    """DPO (eq. 7); ``label_smoothing`` is the conservative-DPO flip probability."""
    difference = margins.difference
    return -(1 - label_smoothing) * F.logsigmoid(difference) - label_smoothing * F.logsigmoid(
        -difference
    )


def hinge_loss(margins: Margins, beta: float, label_smoothing: float) -> torch.Tensor:
    """SLiC's hinge on the implicit-reward margin (Zhao et al. 2023): ``relu(1 - margin)``."""
    return F.relu(1 - margins.difference)


def ipo_loss(margins: Margins, beta: float, label_smoothing: float) -> torch.Tensor:
    """IPO (Azar et al. 2023, eq. 17): the log-ratio margin regressed onto ``1 / (2 beta)``.

    ``beta`` is the paper's tau; the log-probabilities are per-token averages, as in TRL.
    """
    return (margins.difference / beta - 1 / (2 * beta)) ** 2


@dataclass(frozen=True)
class PairLoss:
    """One ``objective.loss_type`` of ``objective=dpo``."""

    loss: Callable[[Margins, float, float], torch.Tensor]
    averaged: bool  # defined on per-token average log-probabilities, not sums


PAIR_LOSSES = {
    DPOLoss.SIGMOID: PairLoss(sigmoid_loss, averaged=False),
    DPOLoss.HINGE: PairLoss(hinge_loss, averaged=False),
    DPOLoss.IPO: PairLoss(ipo_loss, averaged=True),
}


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
    loss_type: str = DPOLoss.SIGMOID,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The loss per pair and the (detached) chosen and rejected implicit rewards."""
    margins = implicit_rewards(
        policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta
    )
    loss = PAIR_LOSSES[DPOLoss(loss_type)].loss(margins, beta, label_smoothing)
    return loss, margins.chosen.detach(), margins.rejected.detach()


def kto_loss(
    policy: torch.Tensor,
    reference: torch.Tensor,
    desirable: torch.Tensor,
    kl: torch.Tensor,
    beta: float,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
) -> torch.Tensor:
    """KTO (Ethayarajh et al. 2024): each example's loss, desirable or not, in row order.

    ``policy`` / ``reference`` are the replies' log-probabilities, ``desirable`` a bool per
    row; ``kl`` is the reference point z0, the batch's estimate of KL(pi || pi_ref) on
    mismatched prompt/reply pairs, clamped at 0 and without gradient.
    """
    margin = beta * (policy - reference - kl)
    return torch.where(
        desirable,
        desirable_weight * (1 - torch.sigmoid(margin)),
        undesirable_weight * (1 - torch.sigmoid(-margin)),
    )


def log_odds(average_logps: torch.Tensor) -> torch.Tensor:
    """``log(p / (1 - p))`` of a response whose per-token average log-probability is given."""
    return average_logps - torch.log1p(-torch.exp(average_logps))


def orpo_odds_ratio_loss(
    average_chosen: torch.Tensor, average_rejected: torch.Tensor
) -> torch.Tensor:
    """ORPO's odds-ratio term (Hong et al. 2024, eq. 7): ``-log sigmoid(log odds ratio)``.

    The objective adds it, weighted by lambda, to the chosen response's NLL.
    """
    return -F.logsigmoid(log_odds(average_chosen) - log_odds(average_rejected))


def simpo_loss(
    average_chosen: torch.Tensor,
    average_rejected: torch.Tensor,
    beta: float,
    gamma_beta_ratio: float,
) -> torch.Tensor:
    """SimPO (Meng et al. 2024, eq. 6): length-normalised reward margin above ``gamma``.

    ``-log sigmoid(beta * (avg log pi(y_w) - avg log pi(y_l)) - gamma)``, with
    ``gamma = gamma_beta_ratio * beta`` as TRL writes it.
    """
    return -F.logsigmoid(beta * (average_chosen - average_rejected - gamma_beta_ratio))
