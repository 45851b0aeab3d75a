"""``objective=token_classify``: a tag per word (NER)."""

from ftexp.objectives.token_classify.spec import TokenClassify

__all__ = ["TokenClassify"]
