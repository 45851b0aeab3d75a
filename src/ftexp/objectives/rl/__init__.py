"""``objective=rl`` (GRPO) and ``objective=upft``: training on the model's own samples."""

from ftexp.objectives.rl.spec import RL, UPFT

__all__ = ["RL", "UPFT"]
