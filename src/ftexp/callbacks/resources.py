"""Peak memory, throughput and model-FLOPs utilisation of a run, measured while it trains."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ftexp.utils.flops import FlopCounter, matmul_ceiling_tflops

PAGE = 4096


def current_rss_mb() -> float:
    """Resident memory of this process in MiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE / 2**20


class ResourceMonitor(L.Callback):
    """Peak memory, samples/s, tokens/s and MFU of the training steps of one run.

    * Timing skips the first ``warmup_steps`` optimiser batches (allocator growth, compilation,
      kernel autotuning) and pauses during validation, so it measures steady-state training,
      data loading included.
    * Tokens are real (non-padding) tokens. FLOPs per batch follow the PaLM convention
      (Chowdhery et al. 2022, app. B): ``2N`` per token forward, ``2N`` backward through frozen and
      trainable matmuls, ``2N`` more for trainable weight gradients, plus ``12·L·d·s`` per token
      for attention. MFU divides achieved FLOP/s by ``peak_tflops``; left ``null`` it is a
      measured dense matmul ceiling of this device in the run's precision.
    * RSS is sampled in a background thread, so the peak is per run (``ru_maxrss`` never resets
      inside a Hydra multirun); on CUDA the allocator's peak is read too.
    * Speeds are per process times the world size (global); MFU is per device.
    """

    def __init__(
        self, interval_s: float = 0.05, warmup_steps: int = 5, peak_tflops: float | None = None
    ) -> None:
        self.interval_s, self.warmup_steps, self.peak_tflops = interval_s, warmup_steps, peak_tflops
        self.peak_rss_mb = 0.0
        self.samples = self.tokens = self.steps = 0
        self.flops = 0.0
        self.train_seconds = 0.0
        self.world_size = 1
        self._counter: FlopCounter | None = None
        self._since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_rss_mb = max(self.peak_rss_mb, current_rss_mb())
            self._stop.wait(self.interval_s)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start memory sampling."""
        self.peak_rss_mb = current_rss_mb()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._start_sampling()

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Sample during testing too: a run that only tests (e.g. prompting) has a peak as well."""
        self.peak_rss_mb = max(self.peak_rss_mb, current_rss_mb())
        self._start_sampling()

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop memory sampling."""
        self._stop_sampling()

    def _start_sampling(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _stop_sampling(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Count the model's matmul parameters; measure the device ceiling if none was given."""
        self.world_size = trainer.world_size
        model = getattr(pl_module, "model", None) or pl_module
        self._counter = FlopCounter.for_model(model)
        if self.peak_tflops is None:
            bf16 = "bf16" in str(trainer.precision)
            self.peak_tflops = matmul_ceiling_tflops(pl_module.device, bf16=bf16)

    def _now(self, device: torch.device) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def _pause(self, pl_module: L.LightningModule) -> None:
        if self._since is not None:
            self.train_seconds += self._now(pl_module.device) - self._since
            self._since = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Resume the clock at an epoch start (after warm-up)."""
        if self.steps >= self.warmup_steps:
            self._since = self._now(pl_module.device)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Count samples, tokens and FLOPs of batches after the warm-up."""
        self.steps += 1
        if self.steps == self.warmup_steps:
            self._since = self._now(pl_module.device)
            return
        if self.steps < self.warmup_steps or not isinstance(batch, dict):
            return
        lengths = sequence_lengths(batch)
        self.samples += len(lengths)
        self.tokens += sum(lengths)
        if self._counter is not None:
            self.flops += self._counter.batch_flops(lengths)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop the clock while validating."""
        if trainer.training:
            self._pause(pl_module)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Restart the clock after a mid-epoch validation."""
        if trainer.training and self.steps >= self.warmup_steps:
            self._since = self._now(pl_module.device)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop the clock at the end of an epoch."""
        self._pause(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop the clock and send the speed figures to the loggers."""
        self._pause(pl_module)
        facts = self.facts()
        for logger in trainer.loggers:
            logger.log_metrics(facts, step=trainer.global_step)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Stop memory sampling."""
        self._stop_sampling()

    def facts(self) -> dict[str, float]:
        """Values for ``metrics.json``."""
        facts = {"memory/peak_rss_mb": self.peak_rss_mb}
        if torch.cuda.is_available():
            facts["memory/peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        if self.train_seconds > 0 and self.samples:
            scale = self.world_size / self.train_seconds
            facts["speed/train_samples_per_s"] = self.samples * scale
            facts["speed/train_tokens_per_s"] = self.tokens * scale
            facts["speed/timed_steps"] = float(self.steps - self.warmup_steps)
            tflops = self.flops / self.train_seconds / 1e12
            facts["speed/model_tflops_per_s"] = tflops
            if self.peak_tflops:
                facts["speed/peak_tflops"] = self.peak_tflops
                facts["speed/mfu"] = tflops / self.peak_tflops
        return facts


def sequence_lengths(batch: dict[str, Any]) -> list[int]:
    """Real tokens per sequence: packed documents count separately, padding never counts."""
    if "seq_lengths" in batch:  # packed rows: one entry per document
        return [int(n) for n in batch["seq_lengths"]]
    mask = batch.get("attention_mask")
    if isinstance(mask, torch.Tensor) and mask.dim() == 2:
        return [int(n) for n in mask.sum(dim=1).tolist()]
    ids = batch.get("input_ids")
    if isinstance(ids, torch.Tensor) and ids.dim() == 2:
        return [ids.shape[1]] * ids.shape[0]
    labels = batch.get("labels")
    return [1] * (len(labels) if labels is not None else 0)
