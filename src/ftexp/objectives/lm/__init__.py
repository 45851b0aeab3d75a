"""``objective=sft`` and ``objective=mlm``: token-level language-model losses."""

from ftexp.objectives.lm.spec import MLM, SFT

__all__ = ["MLM", "SFT"]
