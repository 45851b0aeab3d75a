"""Next-token loss from the final hidden states, without holding full-vocabulary logits.

A causal LM's own loss makes the logits of every position (rows x vocabulary, in fp32), keeps
their log-softmax for the backward pass, and makes a gradient of the same size: for SmolLM2's
49,152-token vocabulary and a batch of 2,048 tokens, four 400 MB tensors. Here the vocabulary
projection runs on a few hundred rows at a time, and each chunk's gradient with respect to the
hidden states (and the head's weight, when it trains) is made in the same pass, so only those
gradients are kept: the same loss and gradients, the logits of one chunk alive at a time
(the method of Liger's fused linear cross-entropy, in plain PyTorch).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ftexp.batch import IGNORE

CHUNK_BYTES = 64 << 20  # fp32 logits of one chunk
# config keys of families whose logits are more than the head's linear map (softcapping, scales)
LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling")


class _LinearCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of ``hidden @ weight.T + bias`` against ``labels``, chunk by chunk."""

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        labels: torch.Tensor,
        chunk_rows: int,
    ) -> torch.Tensor:
        wants_hidden, wants_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        wants_bias = bias is not None and ctx.needs_input_grad[2]
        grad_hidden = torch.zeros_like(hidden, dtype=torch.float32) if wants_hidden else None
        grad_weight = torch.zeros_like(weight, dtype=torch.float32) if wants_weight else None
        grad_bias = (
            torch.zeros_like(bias, dtype=torch.float32) if bias is not None and wants_bias else None
        )
        total = hidden.new_zeros((), dtype=torch.float32)
        for start in range(0, hidden.shape[0], chunk_rows):
            rows = slice(start, start + chunk_rows)
            chunk, targets = hidden[rows], labels[rows]
            logits = nn.functional.linear(chunk, weight, bias).float()
            kept = (targets != IGNORE).unsqueeze(-1)
            total = total + nn.functional.cross_entropy(
                logits, targets, ignore_index=IGNORE, reduction="sum"
            )
            if not (wants_hidden or wants_weight or wants_bias):
                continue
            # d(sum CE)/d logits = softmax - one-hot, on the labelled rows only
            # (a scatter, not boolean indexing: shapes stay known, so it runs on the meta device)
            grad_logits = logits.softmax(-1)
            grad_logits.scatter_add_(1, targets.clamp(min=0).unsqueeze(-1), -kept.float())
            grad_logits *= kept
            if grad_hidden is not None:
                grad_hidden[rows] = grad_logits @ weight.float()
            if grad_weight is not None:
                grad_weight += grad_logits.T @ chunk.float()
            if grad_bias is not None:
                grad_bias += grad_logits.sum(0)
        ctx.save_for_backward(grad_hidden, grad_weight, grad_bias)
        ctx.dtypes = (hidden.dtype, weight.dtype, None if bias is None else bias.dtype)
        return total

    @staticmethod
    def backward(ctx: Any, grad_total: torch.Tensor) -> Any:
        grads = [
            None if grad is None else (grad * grad_total).to(dtype)
            for grad, dtype in zip(ctx.saved_tensors, ctx.dtypes, strict=True)
        ]
        return (*grads, None, None)


def linear_cross_entropy(
    hidden: torch.Tensor, head: nn.Linear, labels: torch.Tensor, chunk_bytes: int = CHUNK_BYTES
) -> torch.Tensor:
    """Mean cross-entropy of ``head(hidden)`` over the tokens whose label is not -100.

    ``hidden``: ``(..., width)`` final hidden states; ``labels``: the matching targets. A batch
    with no labelled token gives 0 (not NaN).
    """
    flat_hidden = hidden.reshape(-1, hidden.shape[-1])
    flat_labels = labels.reshape(-1)
    chunk_rows = max(1, chunk_bytes // (4 * head.out_features))
    total = _LinearCrossEntropy.apply(flat_hidden, head.weight, head.bias, flat_labels, chunk_rows)
    return total / (flat_labels != IGNORE).sum().clamp(min=1)


def plain_head(model: nn.Module) -> nn.Linear | None:
    """The model's vocabulary projection if its logits are just that linear map, else None.

    None for a head a method wrapped (LoRA on ``lm_head``, ``modules_to_save``), a quantised
    head, and families that scale or softcap their logits: those keep the model's own loss.
    """
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    if type(head) is not nn.Linear:
        return None
    config = getattr(model, "config", None)
    if any(getattr(config, key, None) not in (None, 1, 1.0) for key in LOGIT_TRANSFORMS):
        return None
    return head


def causal_lm_loss(
    model: nn.Module, head: nn.Linear, inputs: dict[str, Any], labels: torch.Tensor
) -> torch.Tensor:
    """The shifted next-token loss of ``model`` on ``inputs``, chunked through ``head``.

    A pre-hook on the head takes its input (the final hidden states) and hands it an empty
    sequence, so the model makes no logits. Methods that put virtual tokens in front (prompt
    tuning) lengthen the hidden states; the last ``labels.shape[1]`` positions are the batch's.
    """
    captured: list[torch.Tensor] = []

    def take_hidden(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[Any, ...]:
        captured.append(args[0])
        return (args[0][..., :0, :], *args[1:])

    handle = head.register_forward_pre_hook(take_hidden)
    try:
        model(**inputs, use_cache=False)
    finally:
        handle.remove()
    hidden = captured[-1][:, -labels.shape[1] :]
    return linear_cross_entropy(hidden[:, :-1], head, labels[:, 1:])
