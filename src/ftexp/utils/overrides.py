"""The keys a command line's overrides set, as Hydra spells them."""

from __future__ import annotations


def override_key(override: str) -> str:
    """``method.lr`` of ``method.lr=1e-3`` (and of ``+method.lr=1e-3``, ``~method.lr``)."""
    return override.partition("=")[0].lstrip("+~")


def given_keys(given: list[str]) -> set[str]:
    """The keys the ``given`` overrides set (``method.lr`` of ``+method.lr=1e-3``)."""
    return {override_key(override) for override in given if "=" in override}
