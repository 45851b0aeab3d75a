"""Model families ftexp defines itself, made known to ``transformers``' Auto classes."""

from __future__ import annotations


def register_families() -> None:
    """Register every family of ``ftexp.models`` that ``transformers`` does not ship."""
    from ftexp.models.efficientnet_lite_net import register

    register()
