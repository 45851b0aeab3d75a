"""A DataLoader that Lightning can checkpoint mid-epoch and fast-forward on resume."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader


class ResumableLoader(DataLoader):  # type: ignore[type-arg]
    """Counts the batches it has handed out this epoch; on resume, skips that many.

    Lightning stores ``state_dict()`` in every checkpoint and calls ``load_state_dict`` before
    iterating again, so a run killed mid-epoch continues with exactly the batches it had not
    seen (the batch order itself is seeded per epoch by the sampler). Skipped batches are
    drawn, not trained on: only indices and collation are repeated.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.served = 0
        self.exhausted = False
        self._skip = 0

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        skip, self._skip = self._skip, 0
        self.served, self.exhausted = 0, False
        for index, batch in enumerate(super().__iter__()):
            self.served = index + 1
            if index >= skip:
                yield batch
        self.exhausted = True

    def __len__(self) -> int:
        return super().__len__() - self._skip

    def state_dict(self) -> dict[str, int]:
        """Batches trained on so far in the current epoch (0 once it is over).

        The last batch counts as over too: a checkpoint taken right after it (a preemption
        save in ``on_train_batch_end``) resumes in the next epoch, which must not skip anything.
        """
        over = self.exhausted or self.served >= super().__len__()
        return {"served": 0 if over else self.served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Skip the batches an interrupted run already trained on."""
        self._skip = int(state.get("served", 0))


def split_loader(data: Any, *, train: bool, seed: int, **kwargs: Any) -> DataLoader:  # type: ignore[type-arg]
    """Build a data module's loader: resumable for training, always with its own generator.

    The own generator means creating an iterator never draws from the global random stream
    (dropout's), which exact resume depends on.
    """
    loader = ResumableLoader if train else DataLoader
    return loader(data, generator=torch.Generator().manual_seed(seed), **kwargs)
