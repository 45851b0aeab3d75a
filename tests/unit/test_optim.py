"""Optimiser groups and learning-rate schedules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ftexp.data.sampling import ShardedBatchSampler
from ftexp.methods.base import Method
from ftexp.optim import AdamWConfig


def test_no_weight_decay_on_biases_and_norms() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    optimizer, _ = AdamWConfig(weight_decay=0.1).build(model.named_parameters(), 10)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1
    assert [p.shape for p in decayed["params"]] == [torch.Size([4, 4])]
    assert plain["weight_decay"] == 0.0
    assert len(plain["params"]) == 3


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("linear", [0.5, 1.0, 1.0, 0.75, 0.5, 0.25]),
        ("cosine", [0.5, 1.0, 1.0, 0.8536, 0.5, 0.1464]),
        ("constant", [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_warmup_then_decay(schedule: str, expected: list[float]) -> None:
    fn = AdamWConfig(warmup_ratio=0.3, schedule=schedule).lr_lambda(6)
    assert [fn(step) for step in range(6)] == pytest.approx(expected, abs=1e-3)
    assert fn(6) == pytest.approx(0.0 if schedule != "constant" else 1.0)


def test_frozen_parameters_are_not_optimised() -> None:
    model = nn.Linear(3, 3)
    model.bias.requires_grad_(False)
    owned = Method().optimizer_parameters(model)
    assert [name for name, _ in owned] == ["weight"]
    optimizer, _ = AdamWConfig().build(owned, 5)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 1


def test_length_grouped_batches_cover_everything_once_and_cut_padding() -> None:
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 60, (1000,), generator=gen).tolist()
    sampler = ShardedBatchSampler(1000, 32, seed=1, lengths=lengths, group_size=8)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    random_order = torch.randperm(1000, generator=gen).tolist()
    chunks = [random_order[i : i + 32] for i in range(0, 1000, 32)]
    padded_random = sum(len(b) * max(lengths[i] for i in b) for b in chunks)
    assert padded < 0.8 * padded_random
    assert list(sampler) == batches  # same epoch, same order
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_scaled_rows_step_exactly_as_adamw_at_the_scaled_rate() -> None:
    from ftexp.optim import scale_row_steps

    torch.manual_seed(0)
    start = torch.randn(6, 4)
    grads = [torch.randn(6, 4) for _ in range(3)]
    whole = nn.Parameter(start.clone())
    optimizer = torch.optim.AdamW([whole], lr=1e-2, weight_decay=0.1)
    scale_row_steps(optimizer, whole, 4, 25.0)
    old, new = nn.Parameter(start[:4].clone()), nn.Parameter(start[4:].clone())
    reference = torch.optim.AdamW(
        [{"params": [old]}, {"params": [new], "lr": 25e-2}], lr=1e-2, weight_decay=0.1
    )
    for grad in grads:
        whole.grad, old.grad, new.grad = grad.clone(), grad[:4].clone(), grad[4:].clone()
        optimizer.step()
        reference.step()
    torch.testing.assert_close(whole.detach()[:4], old.detach(), rtol=0, atol=0)
    torch.testing.assert_close(whole.detach()[4:], new.detach())
    assert not torch.allclose(new.detach(), start[4:], atol=0.2)  # the rows did move far


def test_head_scale_multiplies_only_the_head_under_any_wrapper() -> None:
    names = ["bert.encoder.dense.weight", "classifier.weight", "base_model.model.classifier.x.w"]
    scales = AdamWConfig(head_lr_scale=10).head_scales(names, {"classifier"}, {names[0]: 0.5})
    assert scales == {names[0]: 0.5, names[1]: 10.0, names[2]: 10.0}
    assert AdamWConfig().head_scales(names, {"classifier"}, {}) == {}
    two_layers = {"classifier.dense", "classifier.out_proj"}  # a RoBERTa-style head
    wrapped = "base_model.model.classifier.modules_to_save.default.dense.weight"  # PEFT's copy
    assert AdamWConfig(head_lr_scale=10).head_scales([wrapped], two_layers, {}) == {wrapped: 10}


def test_a_loader_saved_after_its_last_batch_resumes_the_next_epoch_whole() -> None:
    from ftexp.data.resumable import ResumableLoader

    loader = ResumableLoader(list(range(10)), batch_size=2)
    batches = iter(loader)
    for _ in range(5):  # every batch handed out; a preemption save lands before StopIteration
        next(batches)
    assert loader.state_dict() == {"served": 0}
    fresh = ResumableLoader(list(range(10)), batch_size=2)
    fresh.load_state_dict(loader.state_dict())
    assert len(list(fresh)) == 5
    mid = ResumableLoader(list(range(10)), batch_size=2)
    batches = iter(mid)
    next(batches)
    next(batches)
    assert mid.state_dict() == {"served": 2}  # mid-epoch: the resumed run skips those two
