"""The peak memory of a training step per device, from the model built on the meta device.

Peak = weights (quantised ones at their packed size) + a frozen reference copy, if the
objective keeps one + gradients and optimiser state of the trainable parameters + the
activations the step keeps for its backward pass and its largest transient tensor (both
measured by running the step's forward passes on the meta device, so gradient checkpointing,
the method's extra layers and the objective's passes count as they are) + on CPU, this process
itself (interpreter, libraries, data: what it holds before the weights load). A sharding
strategy divides what it shards by the number of devices; DDP adds its gradient buckets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from ftexp.memory.activations import step_activations
from ftexp.memory.available import process_bytes

GIB = 2**30
HALF_PRECISIONS = ("bf16-true", "16-true", "bf16", "16")
MIXED_PRECISIONS = ("bf16-mixed", "16-mixed")
# under autocast most activations are half-size; norms, softmax and the loss stay in fp32
MIXED_ACTIVATION_SHARE = 0.6


@dataclass(frozen=True)
class Sharding:
    """What a strategy splits over the devices, and what it adds."""

    weights: bool = False
    gradients: bool = False
    optimizer: bool = False
    optimizer_offloaded: bool = False
    gradient_buckets: bool = False  # DDP copies gradients into communication buckets


SHARDING = {
    "ddp": Sharding(gradient_buckets=True),
    "fsdp": Sharding(weights=True, gradients=True, optimizer=True),
    "deepspeed_stage_1": Sharding(optimizer=True),
    "deepspeed_stage_2": Sharding(gradients=True, optimizer=True),
    "deepspeed_stage_3": Sharding(weights=True, gradients=True, optimizer=True),
}


@dataclass(frozen=True)
class StepSetting:
    """The run settings the estimate depends on beyond the model and the batch."""

    precision: str = "32-true"
    strategy: str = "auto"
    devices: int = 1
    on_cuda: bool = False
    optimizer_offloaded: bool = False


@dataclass
class MemoryEstimate:
    """The estimated peak of one training step on one device, by part (bytes)."""

    weights: int = 0
    reference: int = 0
    gradients: int = 0
    optimizer: int = 0
    activations: int = 0
    process: int = 0
    rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """The whole estimated peak."""
        return (
            self.weights
            + self.reference
            + self.gradients
            + self.optimizer
            + self.activations
            + self.process
        )

    def parts(self) -> str:
        """The parts that are not zero, e.g. ``weights 0.5, gradients 0.5, ... GiB``."""
        named = {
            "weights": self.weights,
            "reference": self.reference,
            "gradients": self.gradients,
            "optimiser": self.optimizer,
            "activations": self.activations,
            "process": self.process,
        }
        shown = ", ".join(f"{name} {gib(size)}" for name, size in named.items() if size)
        return f"{shown} GiB"

    def facts(self) -> dict[str, float]:
        """Values for ``metrics.json`` (MiB)."""
        mib = 2**20
        return {
            "memory/estimate_mb": self.total / mib,
            "memory/estimate_activations_mb": self.activations / mib,
            "memory/estimate_model_mb": (
                self.weights + self.reference + self.gradients + self.optimizer
            )
            / mib,
            "memory/estimate_process_mb": self.process / mib,
        }


def gib(size: float) -> str:
    """Bytes as GiB for messages: two significant decimals, never a bare 0.00."""
    value = size / GIB
    return f"{value:.2f}" if value >= 0.01 else f"{value:.4f}"


def estimate_memory(module: Any, batch: dict[str, Any], setting: StepSetting) -> MemoryEstimate:
    """The peak of a training step of ``module`` on ``batch`` (its largest), per device."""
    model = module.meta_model()
    reference = module.meta_reference(model)
    if setting.precision in HALF_PRECISIONS:
        model = model.to(torch.bfloat16)
        reference = reference.to(torch.bfloat16) if reference is not None else None
    trained = module.method.optimizer_parameters(model) if module.objective.trains else []
    trainable = sum(_bytes(p) for _, p in trained)
    estimate = MemoryEstimate(
        weights=module.method.weight_bytes(model),
        reference=module.method.weight_bytes(reference) if reference is not None else 0,
        gradients=trainable,
        optimizer=module.optim.state_bytes(trainable),
        rows=_rows(batch),
    )
    try:
        passes = module.memory_passes(batch)
        held = step_activations(model, reference, passes)
        activations = held.saved + held.transient
        if module.speed.gradient_checkpointing:
            activations += _recomputed_block(module, reference, passes, model, held.saved)
    except Exception as err:  # a model whose forward reads values cannot run on meta
        activations = 0
        estimate.notes.append(f"activations not estimated ({type(err).__name__})")
    if setting.precision in MIXED_PRECISIONS:
        activations = int(activations * MIXED_ACTIVATION_SHARE) + _matmul_bytes(model) // 2
    estimate.activations = activations
    estimate = sharded(estimate, setting)
    estimate.process = 0 if setting.on_cuda else process_bytes()
    return estimate


def _recomputed_block(
    module: Any, reference: nn.Module | None, passes: list[Any], model: nn.Module, kept: int
) -> int:
    """The one block a checkpointed model's backward pass recomputes at a time.

    Its activations: the step without checkpointing, less what checkpointing keeps, per block.
    """
    from transformers.modeling_layers import GradientCheckpointingLayer

    blocks = sum(isinstance(m, GradientCheckpointingLayer) for m in model.modules()) or 1
    with checkpointing(module, False):
        whole = step_activations(module.meta_model(), reference, passes).saved
    return max(whole - kept, 0) // blocks


@contextmanager
def checkpointing(module: Any, enabled: bool) -> Iterator[None]:
    """``module`` with gradient checkpointing set to ``enabled`` for a what-if estimate."""
    speed = module.speed
    module.speed = replace(speed, gradient_checkpointing=enabled)
    try:
        yield
    finally:
        module.speed = speed


def sharded(estimate: MemoryEstimate, setting: StepSetting) -> MemoryEstimate:
    """The estimate on one device under the run's strategy."""
    rule = SHARDING.get(setting.strategy, Sharding())
    n = max(setting.devices, 1)
    return replace(
        estimate,
        weights=estimate.weights // n if rule.weights else estimate.weights,
        reference=estimate.reference // n if rule.weights else estimate.reference,
        gradients=(estimate.gradients // n if rule.gradients else estimate.gradients)
        * (2 if rule.gradient_buckets and n > 1 else 1),
        optimizer=0
        if setting.optimizer_offloaded and setting.on_cuda
        else (estimate.optimizer // n if rule.optimizer else estimate.optimizer),
    )


def with_rows(estimate: MemoryEstimate, rows: int) -> MemoryEstimate:
    """The same step with ``rows`` examples per batch (activations scale with the rows)."""
    scale = rows / max(estimate.rows, 1)
    return replace(estimate, activations=int(estimate.activations * scale), rows=rows)


def _rows(batch: dict[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            return int(value.shape[0])
    return 1


def _bytes(param: torch.Tensor) -> int:
    return param.numel() * param.element_size()


def _matmul_bytes(model: nn.Module) -> int:
    """Bytes of the weight matrices autocast keeps half-precision copies of during a step."""
    return sum(_bytes(m.weight) for m in model.modules() if isinstance(m, nn.Linear))
