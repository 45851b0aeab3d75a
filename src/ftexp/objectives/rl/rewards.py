"""What a reward function is to on-policy RL (called as TRL calls them), and how several add up.

A reward is any callable ``reward(prompts, completions, **fields) -> list[float]`` (or a
tensor): ``prompts`` and ``completions`` hold one entry per sampled reply (a prompt repeated for
each reply of its group), and each of the example's other fields (e.g. ``answer``) comes as a
keyword with one value per reply. ``objective.reward`` names one by ``_target_`` (the bundled
ones live in ``ftexp.rewards``), or several by name with ``objective.reward_weights``. A reward
may declare ``fields`` (the example fields it reads, checked against the data before anything
loads) and ``problems()`` (its own settings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

RewardFunction = Callable[..., Any]
SINGLE = "reward"  # the name of a reward given alone


def named_rewards(reward: Any) -> dict[str, RewardFunction]:
    """``objective.reward`` as ``{name: callable}``: one reward is named ``reward``."""
    if isinstance(reward, Mapping):
        return {str(name): fn for name, fn in reward.items()}
    return {SINGLE: reward}


def reward_problems(reward: RewardFunction) -> list[str]:
    """The reward's own settings problems, where it declares ``problems()``."""
    check = getattr(reward, "problems", None)
    return list(check()) if callable(check) else []


def score(
    rewards: Mapping[str, RewardFunction],
    weights: Mapping[str, float],
    prompts: list[str],
    completions: list[str],
    fields: Mapping[str, Sequence[Any]],
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The weighted sum of every reward for each completion, and each reward on its own."""
    import torch

    each = {
        name: torch.as_tensor(fn(prompts=prompts, completions=completions, **fields)).float()
        for name, fn in rewards.items()
    }
    total = sum(
        (weights.get(name, 1.0) * value for name, value in each.items()),
        torch.zeros(len(completions)),
    )
    return total, each
