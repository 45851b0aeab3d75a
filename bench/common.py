"""Shared pieces of the benchmark runners: cases, a warm-up-aware meter, result files.

Each runner (ftexp, HF Trainer + PEFT, bare PyTorch loop) runs in its own process so that
peak memory and start-up are its own; they agree on the case definition below.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ftexp.callbacks.resources import current_rss_mb
from ftexp.utils.flops import FlopCounter, matmul_ceiling_tflops


@dataclass
class Case:
    """One benchmark setting shared by every runner."""

    name: str
    task: str  # classify | causal_lm
    method: str  # lora | full | qlora
    batch_size: int
    warmup_steps: int = 5
    max_steps: int | None = None  # None: one epoch
    seq_len: int = 2048  # causal_lm only
    lr: float = 1e-3
    extra: dict[str, Any] = field(default_factory=dict)


CASES = {
    "cpu_lora": Case("cpu_lora", "classify", "lora", batch_size=32, lr=1e-3),
    "gpu_lora": Case("gpu_lora", "causal_lm", "lora", batch_size=4, max_steps=30, lr=1e-4),
    "gpu_full": Case("gpu_full", "causal_lm", "full", batch_size=4, max_steps=30, lr=1e-5),
    "gpu_qlora": Case("gpu_qlora", "causal_lm", "qlora", batch_size=4, max_steps=30, lr=1e-4),
    # SmolLM2-135M + LoRA SFT on chat (experiment=bench_sft): 8 examples or 8 packed rows a step
    "cpu_sft_padded": Case(
        "cpu_sft_padded", "sft", "lora", 8, warmup_steps=3, max_steps=12, seq_len=256, lr=2e-4
    ),
    "cpu_sft_packed": Case(
        "cpu_sft_packed",
        "sft",
        "lora",
        8,
        warmup_steps=3,
        max_steps=12,
        seq_len=256,
        lr=2e-4,
        extra={"packing": True},
    ),
}

# MiniLM LoRA, identical in every runner (ftexp's method=lora + model=minilm defaults)
LORA_CLASSIFY = {
    "r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "target_modules": ["query", "key", "value", "dense"],
    "modules_to_save": ["pooler"],
}
LLAMA_LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LORA_CAUSAL = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": LLAMA_LINEARS}
LLAMA_1B = {
    "vocab_size": 32000,
    "hidden_size": 2048,
    "num_hidden_layers": 22,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "intermediate_size": 5632,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
}


class Meter:
    """Throughput over the steps after ``warmup`` (CUDA-synchronised at both ends)."""

    def __init__(self, warmup: int, model: torch.nn.Module | None = None) -> None:
        self.warmup, self.steps, self.samples, self.tokens, self.flops = warmup, 0, 0, 0, 0.0
        self.start: float | None = None
        self.seconds = 0.0
        self.counter = FlopCounter.for_model(model) if model is not None else None

    def set_model(self, model: torch.nn.Module) -> None:
        """Count the matmul parameters of the model being trained."""
        self.counter = FlopCounter.for_model(model)

    def step(self, lengths: list[int]) -> None:
        """Record one optimiser step over sequences of these real lengths."""
        self.steps += 1
        if self.steps == self.warmup:
            _sync()
            self.start = time.perf_counter()
        elif self.steps > self.warmup:
            self.samples += len(lengths)
            self.tokens += sum(lengths)
            if self.counter is not None:
                self.flops += self.counter.batch_flops(lengths)

    def stop(self) -> None:
        """End the timed window."""
        _sync()
        if self.start is not None:
            self.seconds = time.perf_counter() - self.start

    def result(self, peak_tflops: float | None) -> dict[str, float]:
        """Throughput figures of the timed window."""
        if self.seconds <= 0:
            return {}
        out = {
            "samples_per_s": self.samples / self.seconds,
            "tokens_per_s": self.tokens / self.seconds,
            "timed_steps": float(self.steps - self.warmup),
            "model_tflops_per_s": self.flops / self.seconds / 1e12,
        }
        if peak_tflops:
            out["mfu"] = out["model_tflops_per_s"] / peak_tflops
        return out


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory_mb() -> dict[str, float]:
    """Peak GPU allocator memory (CUDA) and current RSS."""
    out = {"rss_mb": current_rss_mb()}
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def ceiling(bf16: bool) -> float:
    """Measured dense matmul ceiling of this machine (TFLOP/s)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return matmul_ceiling_tflops(device, bf16=bf16)


def write_result(path: str | os.PathLike[str], runner: str, case: Case, **values: Any) -> None:
    """Write one runner's result JSON."""
    record = {"runner": runner, "case": asdict(case), **values}
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True))


def measure_and_write(
    out: str | os.PathLike[str], runner: str, case: Case, run: Callable[[], dict[str, Any]]
) -> None:
    """Run a case (``run`` returns a ``meter`` plus extra figures) and write its result JSON.

    Every runner reports the same way: throughput from its ``Meter`` against this device's
    matmul ceiling, peak CUDA memory and RSS, and wall time including model loading.
    """
    started = time.perf_counter()
    rss = PeakRss()
    outcome = run()
    peak = ceiling(bf16=torch.cuda.is_available())
    write_result(
        out,
        runner,
        case,
        **outcome["meter"].result(peak),
        **{k: v for k, v in outcome.items() if k != "meter"},
        **peak_memory_mb(),
        peak_rss_mb=rss.stop(),
        peak_tflops=peak,
        wall_s=time.perf_counter() - started,
    )


class PeakRss:
    """Sample this process's RSS in a thread; ``peak_mb`` is the maximum seen."""

    def __init__(self, interval_s: float = 0.05) -> None:
        import threading

        self.peak_mb = current_rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, current_rss_mb())
            self._stop.wait(interval_s)

    def stop(self) -> float:
        """Stop sampling; return the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def ftexp_data(overrides: list[str]) -> tuple[Any, Any]:
    """Ftexp's own split and encoding of a composed config's data (so every runner sees it).

    Returns the data module (``encoded`` holds the encoded splits) and the model spec.
    """
    from hydra import compose, initialize_config_module
    from hydra.utils import instantiate

    with initialize_config_module("ftexp.conf", version_base="1.3"):
        cfg = compose("train", overrides=["paths.output_dir=/tmp", *overrides])
    spec = instantiate(cfg.model)
    data = instantiate(cfg.data)
    data.connect(spec.load_processor())
    data.setup()
    return data, spec


def sentiment_data() -> tuple[Any, Any]:
    """The default run's sentiment data, and the MiniLM model folder."""
    data, spec = ftexp_data([])
    return data, spec.location()


def chat_data(packing: bool) -> tuple[Any, Any]:
    """The SFT examples of experiment=bench_sft (labels only on the replies), and the spec."""
    return ftexp_data(["experiment=bench_sft", f"data.packing={packing}"])


def llama_config() -> Any:
    """The random-init 1.1B Llama of the GPU cases."""
    from transformers import LlamaConfig

    return LlamaConfig(**LLAMA_1B)


def synthetic_tokens(n: int, seq_len: int, vocab: int, seed: int = 0) -> torch.Tensor:
    """Uniform random token ids (the same draw ftexp's data=synthetic_lm makes)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (n, seq_len), generator=generator)
