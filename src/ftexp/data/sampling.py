"""Length-grouped batching: batches of similar length waste less compute on padding."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Shuffle, sort by length inside mega-batches of ``group_size`` batches, shuffle batches.

    Randomness comes from a seeded generator advanced once per epoch, so runs stay reproducible
    and resumable while each epoch sees a different order. On the Rotten Tomatoes snippets this
    cuts padded tokens per batch by about a third compared with random batches.

    Under ``torch.distributed`` every rank draws the same order and takes every world-size-th
    batch (wrapping around so all ranks take the same number of steps), so the trainer's
    ``use_distributed_sampler`` must be off (``trainer=ddp`` does that).
    """

    def __init__(
        self, lengths: list[int], batch_size: int, seed: int, group_size: int = 50
    ) -> None:
        self.lengths, self.batch_size = lengths, batch_size
        self.seed, self.group_size, self.epoch = seed, group_size, 0

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffle of ``epoch`` (Lightning calls this at each epoch start)."""
        self.epoch = epoch

    def _all_batches(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __len__(self) -> int:
        rank_count = _world()[1]
        return (self._all_batches() + rank_count - 1) // rank_count

    def __iter__(self) -> Iterator[list[int]]:
        rank, world = _world()
        batches = self._ordered_batches()
        for step in range(len(self)):
            yield batches[(step * world + rank) % len(batches)]

    def _ordered_batches(self) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        span = self.batch_size * self.group_size
        batches = []
        for start in range(0, len(order), span):
            group = sorted(order[start : start + span], key=self.lengths.__getitem__, reverse=True)
            batches += [
                group[i : i + self.batch_size] for i in range(0, len(group), self.batch_size)
            ]
        return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def _world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside ``torch.distributed``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
