"""Learning from preference pairs: ``reward``, ``dpo``, ``kto``, ``orpo``, ``simpo``."""

from ftexp.objectives.preference.spec import DPO, KTO, ORPO, DPOLoss, Reward, SimPO

__all__ = ["DPO", "KTO", "ORPO", "DPOLoss", "Reward", "SimPO"]
