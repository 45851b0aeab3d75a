"""What a batch carries, shared by the data readers, the collators and the objectives.

Light (no torch): the config check reads it before anything heavy loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# the label of a token that carries no loss (prompt, padding, a word's later sub-tokens):
# PyTorch's cross-entropy and Hugging Face's models skip it
IGNORE = -100


def token_ids(rendered: Any) -> list[int]:
    """Token ids from ``apply_chat_template`` (a list, or a dict in newer transformers)."""
    if isinstance(rendered, Mapping):
        rendered = rendered["input_ids"]
    return [int(i) for i in rendered]
