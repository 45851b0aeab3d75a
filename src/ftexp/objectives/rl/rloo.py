"""``objective=rloo``: GRPO's sampling and loss with a leave-one-out baseline."""

from __future__ import annotations

import torch

from ftexp.objectives.rl.grpo import GRPOModule
from ftexp.objectives.rl.losses import leave_one_out_advantages


class RLOOModule(GRPOModule):
    """REINFORCE leave-one-out (Ahmadian et al. 2024).

    Each reply's advantage is its reward less the mean of the other replies to its prompt
    (divided by the group's std only with ``scale_rewards``).
    """

    def advantages(self, rewards: torch.Tensor) -> torch.Tensor:
        """Leave-one-out advantages."""
        return leave_one_out_advantages(rewards, self.group_size, self.settings.scale_rewards)
