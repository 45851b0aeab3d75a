"""Peak memory and throughput of a run, measured while it trains."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

PAGE = 4096


def current_rss_mb() -> float:
    """Resident memory of this process in MiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE / 2**20


class ResourceMonitor(L.Callback):
    """Peak memory and training throughput of one run.

    RSS is sampled in a background thread, so the peak is per run (``ru_maxrss`` never resets
    inside a Hydra multirun); on CUDA the allocator's peak is read too.
    """

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_rss_mb = 0.0
        self.samples = 0
        self.train_seconds = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._epoch_start = 0.0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_rss_mb = max(self.peak_rss_mb, current_rss_mb())
            self._stop.wait(self.interval_s)

    def on_fit_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        """Start sampling."""
        self.peak_rss_mb = current_rss_mb()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        """Time training epochs (validation excluded)."""
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Count samples."""
        labels = batch.get("labels") if isinstance(batch, dict) else None
        self.samples += len(labels) if labels is not None else 0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        """Accumulate training time."""
        self.train_seconds += time.perf_counter() - self._epoch_start

    def on_fit_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def facts(self) -> dict[str, float]:
        """Values for ``metrics.json``."""
        facts = {"memory/peak_rss_mb": self.peak_rss_mb}
        if torch.cuda.is_available():
            facts["memory/peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        if self.train_seconds > 0:
            facts["speed/train_samples_per_s"] = self.samples / self.train_seconds
        return facts
