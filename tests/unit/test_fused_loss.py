"""The chunked next-token loss against plain cross-entropy: value and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ftexp.objectives.lm.fused_loss import linear_cross_entropy

VOCAB, WIDTH = 50, 16


def _case(bias: bool) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    head = nn.Linear(WIDTH, VOCAB, bias=bias)
    hidden = torch.randn(3, 7, WIDTH, requires_grad=True)
    labels = torch.randint(0, VOCAB, (3, 7))
    labels[0, :3] = -100  # a prompt
    labels[2] = -100  # a row of padding
    return head, hidden, labels


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("chunk_rows", [1, 4, 100])
def test_chunks_give_the_plain_loss_and_its_gradients(bias: bool, chunk_rows: int) -> None:
    head, hidden, labels = _case(bias)
    plain = nn.functional.cross_entropy(
        head(hidden).reshape(-1, VOCAB), labels.reshape(-1), ignore_index=-100
    )
    plain.backward()
    expected = [p.grad.clone() for p in (hidden, *head.parameters())]
    hidden.grad = None
    head.zero_grad()
    chunked = linear_cross_entropy(hidden, head, labels, chunk_bytes=4 * VOCAB * chunk_rows)
    (3 * chunked).backward()  # the upstream gradient scales every part
    assert chunked.item() == pytest.approx(plain.item(), rel=1e-6)
    for got, want in zip([p.grad for p in (hidden, *head.parameters())], expected, strict=True):
        torch.testing.assert_close(got, 3 * want)


def test_a_frozen_head_gets_no_gradient_and_no_label_gives_zero() -> None:
    head, hidden, labels = _case(bias=False)
    head.requires_grad_(False)
    linear_cross_entropy(hidden, head, labels).backward()
    assert head.weight.grad is None
    assert hidden.grad is not None
    nothing = linear_cross_entropy(hidden, head, torch.full_like(labels, -100))
    assert nothing.item() == 0.0


def test_it_runs_on_the_meta_device_for_the_memory_estimate() -> None:
    head = nn.Linear(WIDTH, VOCAB, device="meta")
    hidden = torch.empty(3, 7, WIDTH, device="meta", requires_grad=True)
    labels = torch.empty(3, 7, dtype=torch.long, device="meta")
    assert linear_cross_entropy(hidden, head, labels).shape == ()
