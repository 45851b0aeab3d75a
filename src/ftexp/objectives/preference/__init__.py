"""``objective=reward`` and ``objective=dpo``: learning from preference pairs."""

from ftexp.objectives.preference.spec import DPO, Reward

__all__ = ["DPO", "Reward"]
