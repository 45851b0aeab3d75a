"""Handing freed heap memory back to the OS (glibc, CPU runs): after each step, or at once."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

import lightning as L

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MAPPED_ABOVE = 64 * 1024  # bytes: every block over this is mapped on its own


@functools.cache
def _glibc(function: str) -> Any:
    """A glibc allocator function, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), function) if name else None
    except (OSError, AttributeError):
        return None


def give_back_freed_blocks() -> bool:
    """From now on, map each block over 64 KiB on its own, so freeing it returns it to the OS.

    glibc otherwise serves blocks up to 32 MiB from its heap and keeps their pages once they
    are freed, for reuse. RSS then follows what the process holds, at the price of faulting
    each new block's pages in. Whether the C library could.
    """
    mallopt = _glibc("mallopt")
    return mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, MAPPED_ABOVE))


def trim_heap() -> bool:
    """Return the heap's free pages to the OS; whether the C library could."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


class TrimHeap(L.Callback):
    """After each optimiser step on the CPU, give the freed activation memory back.

    glibc keeps the memory of a step's freed tensors in its heap, cut into pieces that the
    next step's differently sized tensors only partly reuse, so the process grows past what
    it holds at once (1.6x the memory estimate in the packed SFT bench). Trimming after
    every step costs re-faulting those pages in the next one (see ``speed.trim_heap``).
    """

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, index: int
    ) -> None:
        """Trim once the step's gradients are applied (not between accumulated batches)."""
        if trainer.strategy.root_device.type != "cpu":
            return
        stepped = (index + 1) % trainer.accumulate_grad_batches == 0
        if stepped or index + 1 == trainer.num_training_batches:
            trim_heap()
