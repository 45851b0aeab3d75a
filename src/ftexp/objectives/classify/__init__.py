"""``objective=classify``: one class per example, in any modality."""

from ftexp.objectives.classify.spec import Classify

__all__ = ["Classify"]
