"""Sampling replies from the policy and scoring their tokens (GRPO and UPFT share it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ftexp.batch import stop_token_ids

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def sample(
    model: Any,
    batch: dict[str, torch.Tensor],
    tokenizer: PreTrainedTokenizerBase,
    group_size: int,
    max_new_tokens: int,
    temperature: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample ``group_size`` responses per left-padded prompt.

    Returns ``(sequences, attention_mask, response_mask)``; the response mask covers generated
    tokens up to and including the first stop token.
    """
    was_training = model.training
    model.eval()
    with torch.no_grad():
        sequences = model.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None,
            top_k=0,
            top_p=1.0,
            max_new_tokens=max_new_tokens,
            num_return_sequences=group_size,
            eos_token_id=stop_token_ids(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
        )
    model.train(was_training)
    width = batch["input_ids"].shape[1]
    generated = sequences[:, width:]
    stops = torch.zeros_like(generated, dtype=torch.bool)
    for token in stop_token_ids(tokenizer):
        stops |= generated == token
    after_stop = (stops.cumsum(-1) - stops.long()) > 0  # strictly after the first stop
    response_mask = (~after_stop).long()
    prompt_mask = batch["attention_mask"].repeat_interleave(group_size, 0)
    return sequences, torch.cat([prompt_mask, response_mask], 1), response_mask


def token_logps(
    model: Any, sequences: torch.Tensor, mask: torch.Tensor, start: int
) -> torch.Tensor:
    """Log-probability of each token from position ``start`` on, given everything before it."""
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: positions start at 0
    logits = model(
        input_ids=sequences, attention_mask=mask, position_ids=positions, use_cache=False
    ).logits[:, start - 1 : -1]
    targets = sequences[:, start:].unsqueeze(-1)
    return torch.gather(logits.float().log_softmax(-1), 2, targets).squeeze(-1)


def prompt_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The left-padded prompts of a prompt batch, under the names ``generate`` takes."""
    return {
        "input_ids": batch["prompt_input_ids"],
        "attention_mask": batch["prompt_attention_mask"],
    }
