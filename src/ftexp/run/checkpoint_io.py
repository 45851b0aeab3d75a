"""Checkpoints written whole or not at all, beside their final name, with a clear full-disk error.

Lightning's default writer serialises the whole checkpoint into memory, writes it to the
system temp dir and moves it into place: a copy (not a rename) when that dir is another
filesystem, so a kill during the copy leaves a truncated ``last.ckpt``, and a small ``/tmp``
fails saves whose target disk has room. This writer streams ``torch.save`` into a hidden file
in the checkpoint's own folder, fsyncs it and renames it over the old one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from ftexp.utils.io import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose saves are atomic renames within the checkpoint's folder."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        """Write ``checkpoint`` to ``path``; the previous file stays until the new one is whole."""
        atomic_write(Path(path), lambda handle: torch.save(checkpoint, handle))


def use_atomic_checkpoints(trainer: L.Trainer) -> None:
    """Give the trainer's strategy the atomic writer where it uses Lightning's plain one.

    Strategies with their own writer (DeepSpeed's sharded folders) keep it.
    """
    strategy = trainer.strategy
    if type(getattr(strategy, "checkpoint_io", None)) is TorchCheckpointIO:
        strategy.checkpoint_io = AtomicCheckpointIO()
