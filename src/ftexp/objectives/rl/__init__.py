"""``objective=rl`` (GRPO and its loss types), ``rloo`` and ``upft``: the model's own samples."""

from ftexp.objectives.rl.spec import RL, RLOO, UPFT, RLLoss

__all__ = ["RL", "RLOO", "UPFT", "RLLoss"]
