"""The training sampler's repeats: each step's batches again (GRPO's num_iterations)."""

from __future__ import annotations

import pytest

from ftexp.data.sampling import ShardedBatchSampler


@pytest.mark.parametrize(("repeats", "span"), [(2, 1), (3, 2), (2, 4)])
def test_each_steps_batches_repeat_in_a_row_and_a_short_last_step_is_left_out(
    repeats: int, span: int
) -> None:
    plain = list(ShardedBatchSampler(45, 4, seed=7))  # 12 batches, the last of 1
    sampler = ShardedBatchSampler(45, 4, seed=7, repeats=repeats, span=span)
    served = list(sampler)
    assert len(served) == len(sampler)
    whole = len(plain) // span * span
    assert served == [
        batch
        for start in range(0, whole, span)
        for _ in range(repeats)
        for batch in plain[start : start + span]
    ]
    assert len(served) == whole * repeats


def test_no_repeats_serves_the_plain_epoch() -> None:
    assert list(ShardedBatchSampler(45, 4, seed=7, repeats=1, span=4)) == list(
        ShardedBatchSampler(45, 4, seed=7)
    )
