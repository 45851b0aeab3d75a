"""The LightningDataModule every data option runs through: sharded, resumable loaders."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from ftexp.data.base import FinetuneData
from ftexp.data.resumable import split_loader
from ftexp.data.sampling import EpochDraws, ShardedBatchSampler, _world
from ftexp.errors import DataError


class DataModule(L.LightningDataModule):
    """Wraps a ``FinetuneData``: Lightning calls ``setup`` and the loaders here.

    Train, val and test are sharded over the ranks of ddp/fsdp/deepspeed by
    ``ShardedBatchSampler``: every example is seen by exactly one rank, and metrics computed
    with torchmetrics (or ``FinetuneModule.log_mean``) count each example once. The training
    loader is resumable mid-epoch and draws from its own generator. ``batch_repeats``
    (the objective's): each optimiser step's training batches are served that many times in
    a row (the trainer's ``accumulate_grad_batches`` batches make one step).
    """

    def __init__(self, data: FinetuneData, batch_repeats: int = 1) -> None:
        super().__init__()
        self.data = data
        self.batch_repeats = batch_repeats

    def setup(self, stage: str | None = None) -> None:
        """Read, split and encode once."""
        self.data.setup()

    def train_prompts(self) -> list[list[dict[str, str]]]:
        """Prompts of the training examples as chat messages (data that ``provides`` ``prompt``)."""
        return [self.data.prompt_of(example) for example in self.data.splits["train"]]

    def replace_train_examples(self, encoded: list[Any]) -> None:
        """Train on new encoded examples (e.g. UPFT's self-generated replies)."""
        self.data.replace_train_examples(encoded)

    def _loader(self, split: str, train: bool) -> DataLoader[Any]:
        data = self.data
        examples = data.encoded[split]
        world = _world()[1]
        if len(examples) < world:
            raise DataError(
                data.origin(),
                f"the {split} split has {len(examples)} example(s), fewer than the {world} ranks",
                fix="add rows or use fewer devices",
            )
        grouped = data.group_by_length or not train
        fresh = train and data.varies_per_draw  # e.g. augmentation: seeded by the draw
        repeats = self.batch_repeats if train else 1
        span = self.trainer.accumulate_grad_batches if repeats > 1 and self.trainer else 1
        sampler = ShardedBatchSampler(
            len(examples),
            data.batch_size if train else data.eval_batch_size,
            seed=data.split_seed,
            lengths=[data.length(x) for x in examples] if grouped else None,
            shuffle=train,
            tag_epoch=fresh,
            repeats=repeats,
            span=span,
        )
        if repeats > 1 and len(sampler) == 0:
            raise DataError(
                data.origin(),
                f"the train split makes fewer batches than one optimiser step's {span} "
                f"(accumulate_grad_batches), so objective.num_iterations has nothing to repeat",
                fix="add rows, or lower data.batch_size or trainer.accumulate_grad_batches",
            )
        return split_loader(
            EpochDraws(examples) if fresh else examples,
            train=train,
            seed=data.split_seed,
            batch_sampler=sampler,
            collate_fn=data.collator(train),
            num_workers=data.num_workers,
            persistent_workers=data.num_workers > 0,
            pin_memory=data.pin_memory,
        )

    def train_dataloader(self) -> DataLoader[Any]:
        """This rank's shuffled (optionally length-grouped), resumable training batches."""
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader[Any]:
        """This rank's validation batches, length-sorted."""
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader[Any]:
        """This rank's test batches, length-sorted."""
        return self._loader("test", train=False)
