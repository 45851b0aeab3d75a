"""Model FLOPs per batch and a measured matmul ceiling, for model-FLOPs utilisation (MFU)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class FlopCounter:
    """Training FLOPs of a transformer, counted from its matmul layers.

    Attributes:
        matmul_params: weights of every linear layer (frozen, quantised and trainable).
        trainable_matmul_params: those whose weight gets a gradient (LoRA A/B count here).
        layers: transformer blocks (for the attention term).
        hidden: model width (for the attention term).
    """

    matmul_params: int
    trainable_matmul_params: int
    layers: int
    hidden: int

    @classmethod
    def for_model(cls, model: nn.Module) -> FlopCounter:
        """Count a model's linear layers; read depth and width from its config."""
        total = trainable = 0
        for module in model.modules():
            # own parameters only: PEFT wrappers expose their base layer's weight as a property
            weight = module._parameters.get("weight")
            size = _matmul_size(module, weight)
            if weight is not None and size:
                total += size
                trainable += size if weight.requires_grad else 0
        config = getattr(model, "config", None)
        layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0) or 0)
        hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 0)
        return cls(total, trainable, layers, hidden)

    def batch_flops(self, lengths: list[int]) -> float:
        """Forward + backward FLOPs of one batch of sequences with these lengths.

        Per token: ``2N`` forward, ``2N`` backward to the inputs, ``2N_trainable`` for weight
        gradients; per sequence of length ``s``: ``12·L·d·s²`` for attention scores and values.
        """
        tokens = sum(lengths)
        per_token = 4 * self.matmul_params + 2 * self.trainable_matmul_params
        attention = 12 * self.layers * self.hidden * sum(s * s for s in lengths)
        return float(per_token * tokens + attention)


def _matmul_size(module: nn.Module, weight: torch.Tensor | None) -> int:
    """Multiply-adds per token of a linear layer (``nn.Linear``-like or GPT-2's ``Conv1D``)."""
    n_in, n_out = getattr(module, "in_features", None), getattr(module, "out_features", None)
    if isinstance(n_in, int) and isinstance(n_out, int):
        return n_in * n_out
    n_out = getattr(module, "nf", None)  # transformers' Conv1D: weight is (in, out)
    if isinstance(n_out, int) and weight is not None and weight.dim() == 2:
        return int(weight.shape[0]) * n_out
    return 0


def matmul_ceiling_tflops(device: torch.device, bf16: bool, size: int | None = None) -> float:
    """Measure the dense matmul rate of ``device`` in TFLOP/s (bf16 or fp32)."""
    cuda = device.type == "cuda"
    size = size or (8192 if cuda else 1024)
    dtype = torch.bfloat16 if bf16 else torch.float32
    # an own generator: measuring must not move the global random stream (exact resume)
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    b = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    repeats = 50 if cuda else 3
    for _ in range(25 if cuda else 1):  # let clocks ramp up from idle
        a @ b
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if cuda:
        torch.cuda.synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e12
