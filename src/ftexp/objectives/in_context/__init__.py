"""``objective=in_context``: classify by prompting a causal LM, nothing trained."""

from ftexp.objectives.in_context.spec import InContext

__all__ = ["InContext"]
