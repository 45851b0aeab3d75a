"""What a batch carries, shared by the data readers, the collators and the objectives.

Light (no torch): the config check reads it before anything heavy loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# the label of a token that carries no loss (prompt, padding, a word's later sub-tokens):
# PyTorch's cross-entropy and Hugging Face's models skip it
IGNORE = -100


def token_ids(rendered: Any) -> list[int]:
    """Token ids from ``apply_chat_template`` (a list, or a dict in newer transformers)."""
    if isinstance(rendered, Mapping):
        rendered = rendered["input_ids"]
    return [int(i) for i in rendered]


def stop_token_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """EOS plus ChatML's end-of-turn token when the vocabulary has one: where a reply stops."""
    ids = {tokenizer.eos_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.add(end_of_turn)
    return sorted(i for i in ids if i is not None)
