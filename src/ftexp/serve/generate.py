"""Chat replies from a fine-tuned LM, stopping at the end of the assistant's turn.

The library side of ``python -m ftexp.cli.generate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from transformers import PreTrainedTokenizerBase

from ftexp.batch import stop_token_ids, token_ids

if TYPE_CHECKING:
    pass


def generate_replies(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    seed: int = 0,
) -> list[str]:
    """Render each prompt with the chat template and decode the model's reply."""
    torch.manual_seed(seed)
    replies = []
    for prompt in prompts:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        input_ids = torch.tensor([token_ids(rendered)], device=model.device)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {}
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                eos_token_id=stop_token_ids(tokenizer),
                pad_token_id=tokenizer.pad_token_id,
                **({"do_sample": False} | sampling),
            )
        replies.append(tokenizer.decode(out[0, input_ids.shape[1] :], skip_special_tokens=True))
    return replies
