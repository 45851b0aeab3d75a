"""A saved model's batch-1 latency and batch-64 throughput, as saved and merged.

The library side of ``python -m ftexp.cli.latency``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ftexp.errors import RunError
from ftexp.run.reload import SavedRun

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

BATCH = 64


def sample_texts(run: SavedRun, count: int) -> list[str]:
    """Texts from the run's own test split (the data its config names), at most ``count``."""
    data = run.parts.data
    data.load()
    texts = [t for t in map(data.text_of, data.splits["test"]) if t]
    if not texts:
        raise RunError(
            f"{run.run_dir}: its data has no texts to time (latency is measured on text)"
        )
    return (texts * (count // len(texts) + 1))[:count]


def timings(
    model: nn.Module, tokenizer: PreTrainedTokenizerBase, texts: list[str], repeats: int
) -> dict[str, float]:
    """p50 / p95 milliseconds of one text, and texts per second in batches of 64."""
    import torch

    def once(batch: list[str]) -> float:
        inputs = tokenizer(
            batch, padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        start = time.perf_counter()
        with torch.inference_mode():
            model(**inputs)
        return time.perf_counter() - start

    once(texts[:1])  # warm-up: first-call allocations
    singles = sorted(once([texts[i % len(texts)]]) for i in range(repeats))
    batched = [once(texts[i : i + BATCH]) for i in range(0, min(len(texts), 4 * BATCH), BATCH)]
    shown = min(len(texts), 4 * BATCH)
    return {
        "p50_ms": 1000 * statistics.median(singles),
        "p95_ms": 1000 * singles[min(len(singles) - 1, round(0.95 * (len(singles) - 1)))],
        "batch64_per_s": shown / sum(batched),
    }


def measure(run: SavedRun | str | Path, repeats: int = 50) -> dict[str, dict[str, float]]:
    """Timings of the saved model, and of its merged form where the method has one."""
    saved = SavedRun.of(run)
    model, tokenizer, _ = saved.load()
    texts = sample_texts(saved, 4 * BATCH)
    out = {"as_saved": timings(model, tokenizer, texts, repeats)}
    method = saved.parts.method
    if method.saves_adapter and callable(getattr(model, "merge_and_unload", None)):
        try:
            merged = method.merged(model).eval()
        except Exception:  # soft prompts do not fold into the base
            return out
        out["merged"] = timings(merged, tokenizer, texts, repeats)
    return out
