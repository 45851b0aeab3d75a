"""FLOP counting for MFU, and what counts as a token."""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from ftexp.callbacks.resources import sequence_lengths
from ftexp.utils.flops import FlopCounter


class TwoLinears(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Linear(8, 16)
        self.down = nn.Linear(16, 8)


def test_counts_every_linear_and_only_trainable_weight_gradients() -> None:
    model = TwoLinears()
    model.up.weight.requires_grad_(False)
    counter = FlopCounter.for_model(model)
    assert counter.matmul_params == 2 * 8 * 16
    assert counter.trainable_matmul_params == 8 * 16
    # no config: no attention term; 4N + 2N_trainable per token
    assert counter.batch_flops([3, 2]) == 5 * (4 * 256 + 2 * 128)


def test_lora_layers_are_not_counted_twice() -> None:
    model = get_peft_model(TwoLinears(), LoraConfig(r=2, target_modules=["up", "down"]))
    counter = FlopCounter.for_model(model)
    lora = 2 * (8 * 2 + 2 * 16)  # A and B of each adapted layer
    assert counter.matmul_params == 2 * 8 * 16 + lora
    assert counter.trainable_matmul_params == lora


def test_attention_term_grows_with_the_square_of_each_sequence() -> None:
    counter = FlopCounter(matmul_params=0, trainable_matmul_params=0, layers=2, hidden=4)
    assert counter.batch_flops([3]) == 12 * 2 * 4 * 9
    # two short documents cost less attention than one long one of the same tokens
    assert counter.batch_flops([2, 2]) < counter.batch_flops([4])


def test_padding_never_counts_as_tokens() -> None:
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])
    assert sequence_lengths({"input_ids": torch.zeros(2, 4), "attention_mask": mask}) == [3, 1]
    assert sequence_lengths({"input_ids": torch.zeros(2, 5, dtype=torch.long)}) == [5, 5]
    packed = {"input_ids": torch.zeros(1, 6), "seq_lengths": torch.tensor([4, 2])}
    assert sequence_lengths(packed) == [4, 2]


def test_gpt2_conv1d_layers_count_like_linears() -> None:
    from transformers.pytorch_utils import Conv1D

    counter = FlopCounter.for_model(nn.Sequential(Conv1D(nf=12, nx=8)))
    assert counter.matmul_params == 8 * 12
