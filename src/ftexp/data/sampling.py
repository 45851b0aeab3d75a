"""Rank-aware batching: every example of a split goes to exactly one rank, once per epoch.

Each step has one *global* batch of ``world_size x batch_size`` examples; rank ``r`` takes the
``r``-th of ``world_size`` near-equal contiguous chunks of it. So all ranks take the same
number of steps (collectives such as FSDP's all-gathers never wait on a rank that ran out),
no example is repeated or dropped (unlike ``DistributedSampler``'s padding), and one process
with batch ``B`` sees exactly the global batches of 2 ranks with batch ``B/2``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Sampler


class ShardedBatchSampler(Sampler[list[int]]):
    """This rank's batches of a split: shuffled per epoch for training, length-sorted for eval.

    Training order: a seeded permutation per epoch (``seed + epoch``), so runs are reproducible
    and resumable; with ``lengths`` the permutation is cut into mega-batches of ``group_size``
    global batches sorted by length (about a third less padding on the sentiment snippets).
    Evaluation order (``shuffle=False``): sorted by length, which cuts padding further.
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int = 0,
        lengths: list[int] | None = None,
        shuffle: bool = True,
        group_size: int = 50,
        tag_epoch: bool = False,
        repeats: int = 1,
        span: int = 1,
    ) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.lengths, self.shuffle, self.group_size = lengths, shuffle, group_size
        self.tag_epoch = tag_epoch  # yield ``epoch * size + index``: see ``EpochDraws``
        # each run of ``span`` batches (one optimiser step's) served ``repeats`` times in a row
        self.repeats, self.span = repeats, span
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffle of ``epoch`` (Lightning calls this at each epoch start)."""
        self.epoch = epoch

    @property
    def sampler(self) -> ShardedBatchSampler:
        """Itself: Lightning sets the epoch on ``batch_sampler.sampler``, never on a batch sampler.

        Without this every epoch would repeat the first one's order (and augmentation draws).
        """
        return self

    def __len__(self) -> int:
        world = _world()[1]
        width = self.batch_size * world
        count, tail = divmod(self.size, width)
        batches = count + (1 if tail and (tail >= world or count == 0) else 0)
        if self.repeats == 1:
            return batches
        return batches // self.span * self.span * self.repeats

    def __iter__(self) -> Iterator[list[int]]:
        rank, world = _world()
        offset = self.epoch * self.size if self.tag_epoch else 0
        for batch in self.global_batches():
            yield [offset + i for i in _chunk(batch, rank, world)]

    def global_batches(self) -> list[list[int]]:
        """Every step's batch over all ranks, in order (a tail smaller than the world joins one)."""
        world = _world()[1]
        width = self.batch_size * world
        if not self.shuffle:
            order = list(range(self.size))
            if self.lengths is not None:
                order.sort(key=self.lengths.__getitem__)
            batches = [order[i : i + width] for i in range(0, self.size, width)]
        else:
            batches = self._shuffled(width)
        small = [i for i, batch in enumerate(batches) if len(batch) < world]
        if small and len(batches) > 1:
            tail = batches.pop(small[0])
            batches[max(small[0] - 1, 0)] += tail
        return self._repeated(batches)

    def _repeated(self, batches: list[list[int]]) -> list[list[int]]:
        """Each run of ``span`` batches ``repeats`` times in a row; a short last run is dropped.

        A short run would put its repeats into one optimiser step (Lightning steps every
        ``span`` batches), so it is left out of the epoch rather than trained on wrongly.
        """
        if self.repeats == 1:
            return batches
        runs = [batches[i : i + self.span] for i in range(0, len(batches), self.span)]
        whole = [run for run in runs if len(run) == self.span]
        return [batch for run in whole for _ in range(self.repeats) for batch in run]

    def _shuffled(self, width: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        if self.lengths is None:
            return [order[i : i + width] for i in range(0, self.size, width)]
        lengths, span = self.lengths, width * self.group_size
        batches = []
        for start in range(0, self.size, span):
            group = sorted(order[start : start + span], key=lengths.__getitem__, reverse=True)
            batches += [group[i : i + width] for i in range(0, len(group), width)]
        return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def _chunk(batch: list[int], rank: int, world: int) -> list[int]:
    """The ``rank``-th of ``world`` near-equal contiguous pieces of ``batch``."""
    share, extra = divmod(len(batch), world)
    start = rank * share + min(rank, extra)
    return batch[start : start + share + (1 if rank < extra else 0)]


def _world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside ``torch.distributed``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class EpochDraws:
    """A split whose examples come with the draw that picked them: ``(example, epoch * size + i)``.

    With a ``tag_epoch`` sampler, random changes to an example (augmentation) can be seeded by
    that draw, so they differ per epoch, repeat per seed, and a resumed run gets the same ones.
    """

    def __init__(self, examples: list[Any]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, draw: int) -> tuple[Any, int]:
        return self.examples[draw % len(self.examples)], draw
