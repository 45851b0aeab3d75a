"""One run and its saved form.

Its wiring (``wiring``), its held-out eval sets, checkpoint writes, and reloading a saved run
(``reload``).

``ftexp.run`` was one module before it held these; ``from ftexp.run import train`` (and
``build``, ``save_model``) still answers, loading the heavy wiring only when asked.
"""

from __future__ import annotations

import importlib
from typing import Any

_WIRING = ("train", "build", "save_model")


def __getattr__(name: str) -> Any:
    """The old module's public functions, from ``ftexp.run.wiring`` (imported on first use)."""
    if name in _WIRING:
        return getattr(importlib.import_module("ftexp.run.wiring"), name)
    raise AttributeError(f"module 'ftexp.run' has no attribute {name!r}")
