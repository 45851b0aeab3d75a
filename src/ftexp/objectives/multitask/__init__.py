"""``objective=multitask``: classification plus a masked-LM auxiliary (``objective/weighting``)."""

from ftexp.objectives.multitask.spec import Multitask

__all__ = ["Multitask"]
