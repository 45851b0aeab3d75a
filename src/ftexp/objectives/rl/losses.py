"""The policy losses of ``objective=rl``'s loss types, on per-token log-probabilities.

Every reply token gets the clipped surrogate ``-min(r A, clip(r, 1 - eps, 1 + eps_high) A)``
plus ``kl_beta`` times the k3 KL estimate; the loss types differ in the ratio ``r`` (one per
token, or one per reply for GSPO) and in how the tokens are averaged (``RL_LOSSES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ftexp.objectives.rl.spec import RLLoss

Reduce = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def group_advantages(rewards: torch.Tensor, group_size: int, scale: bool = True) -> torch.Tensor:
    """GRPO advantages: each reward less its group's mean, over the group's std when ``scale``."""
    grouped = rewards.view(-1, group_size)
    centred = grouped - grouped.mean(1, keepdim=True)
    if scale:
        centred = centred / (grouped.std(1, keepdim=True) + 1e-4)
    return centred.view(-1)


def leave_one_out_advantages(
    rewards: torch.Tensor, group_size: int, scale: bool = False
) -> torch.Tensor:
    """RLOO advantages: each reward less the mean of the other rewards of its group.

    That is ``G / (G - 1)`` times its distance from the group's mean (over the group's std
    when ``scale``).
    """
    return group_advantages(rewards, group_size, scale) * group_size / (group_size - 1)


def k3_kl(policy: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(policy || reference): ``e^(q - p) - (q - p) - 1 >= 0``."""
    log_ratio = reference - policy
    return torch.exp(log_ratio) - log_ratio - 1


def token_ratios(policy: torch.Tensor, old: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``pi / pi_old`` of every token."""
    return torch.exp(policy - old)


def sequence_ratios(policy: torch.Tensor, old: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """GSPO's ``(pi(y) / pi_old(y))^(1/|y|)`` of each reply, repeated over its tokens."""
    mean_log_ratio = ((policy - old) * weights).sum(1) / weights.sum(1).clamp(min=1)
    return torch.exp(mean_log_ratio).unsqueeze(1).expand_as(policy)


def per_reply_mean(
    per_token: torch.Tensor, weights: torch.Tensor, max_new_tokens: int
) -> torch.Tensor:
    """Each reply's mean over its tokens, then the mean over replies (GRPO, GSPO)."""
    return ((per_token * weights).sum(1) / weights.sum(1).clamp(min=1)).mean()


def token_mean(per_token: torch.Tensor, weights: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """The mean over every reply token of the batch (DAPO): long replies weigh more."""
    return (per_token * weights).sum() / weights.sum().clamp(min=1)


def fixed_length_mean(
    per_token: torch.Tensor, weights: torch.Tensor, max_new_tokens: int
) -> torch.Tensor:
    """The token sum over replies x ``max_new_tokens`` (Dr. GRPO): no length bias either way."""
    return (per_token * weights).sum() / (per_token.shape[0] * max_new_tokens)


@dataclass(frozen=True)
class RLLossForm:
    """The ratio and the averaging of one ``objective.loss_type``."""

    ratios: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    reduce: Reduce


RL_LOSSES = {
    RLLoss.GRPO: RLLossForm(token_ratios, per_reply_mean),
    RLLoss.DR_GRPO: RLLossForm(token_ratios, fixed_length_mean),
    RLLoss.DAPO: RLLossForm(token_ratios, token_mean),
    RLLoss.GSPO: RLLossForm(sequence_ratios, per_reply_mean),
}


@dataclass(frozen=True)
class Clip:
    """The ratio's range ``[1 - low, 1 + high]``."""

    low: float
    high: float


def policy_loss(
    loss_type: str,
    policy: torch.Tensor,
    old: torch.Tensor,
    advantages: torch.Tensor,
    kl: torch.Tensor,
    weights: torch.Tensor,
    clip: Clip,
    kl_beta: float,
    max_new_tokens: int,
) -> torch.Tensor:
    """The batch's loss: clipped surrogate plus the KL penalty, averaged as ``loss_type`` says.

    ``policy``, ``old``, ``kl`` and ``weights`` are per reply token (``weights`` 1 on the
    reply, 0 after its end); ``old`` is the policy that sampled (``policy.detach()``
    on-policy, where every ratio is 1 and only its gradient acts).
    """
    form = RL_LOSSES[RLLoss(loss_type)]
    ratio = form.ratios(policy, old, weights)
    advantage = advantages.unsqueeze(1)
    clipped = torch.clamp(ratio, 1 - clip.low, 1 + clip.high)
    surrogate = -torch.minimum(ratio * advantage, clipped * advantage)
    return form.reduce(surrogate + kl_beta * kl, weights, max_new_tokens)


def clipped_share(
    loss_type: str,
    policy: torch.Tensor,
    old: torch.Tensor,
    advantages: torch.Tensor,
    weights: torch.Tensor,
    clip: Clip,
) -> torch.Tensor:
    """Share of reply tokens whose clip binds (no gradient through them): 0 on-policy.

    A token is clipped where its ratio has left ``[1 - low, 1 + high]`` in the direction its
    advantage pushes (above with a positive advantage, below with a negative one).
    """
    ratio = RL_LOSSES[RLLoss(loss_type)].ratios(policy, old, weights).detach()
    advantage = advantages.unsqueeze(1)
    binds = ((ratio > 1 + clip.high) & (advantage > 0)) | ((ratio < 1 - clip.low) & (advantage < 0))
    return (binds.float() * weights).sum() / weights.sum().clamp(min=1)
