"""Activation memory of a step, measured by running its forward passes on the meta device.

A forward pass on meta tensors computes no numbers but records every tensor autograd keeps
for the backward pass (``saved_tensors_hooks``) and every tensor an operation returns
(a dispatch mode): their sizes are exactly what the real step keeps and makes, for any
architecture, method or gradient-checkpointing setting, without a formula per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ftexp.memory.passes import ModelPass


@dataclass
class StepActivations:
    """Bytes a step's forward passes hold.

    Attributes:
        saved: kept for the backward pass (all passes with gradients together).
        transient: the largest single tensor made by any pass, twice for a pass with
            gradients: the backward pass makes its gradient beside it (logits and their
            gradient, the classic spike).
    """

    saved: int = 0
    transient: int = 0


class _LargestOutput(TorchDispatchMode):
    """Remembers the size of the largest tensor any operation returns."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func is torch.ops.aten._local_scalar_dense.default and args[0].dtype == torch.bool:
            # a meta tensor holds no values: a model's "is every mask value set" question (e.g.
            # transformers' packed-sequence check) gets the answer of an unpadded batch
            return True
        out = func(*args, **(kwargs or {}))
        for value in tree_flatten(out)[0]:
            if isinstance(value, torch.Tensor):
                self.largest = max(self.largest, value.numel() * value.element_size())
        return out


def step_activations(
    model: nn.Module, reference: nn.Module | None, passes: list[ModelPass]
) -> StepActivations:
    """Run ``passes`` on meta-device ``model`` (and ``reference``) and measure what they hold."""
    result = StepActivations()
    for step_pass in passes:
        target = reference if step_pass.reference and reference is not None else model
        saved, largest = _measure(target, step_pass)
        result.saved += saved
        result.transient = max(result.transient, largest * (2 if step_pass.grad else 1))
    return result


def _measure(model: nn.Module, step_pass: ModelPass) -> tuple[int, int]:
    weights = {p.untyped_storage()._cdata for p in model.parameters()}
    held: list[torch.Tensor] = []  # keeps storages alive so their addresses are not reused
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage._cdata not in weights:
            held.append(tensor)
            saved[storage._cdata] = max(saved.get(storage._cdata, 0), storage.nbytes())
        return tensor

    inputs = {
        k: v.to("meta") if isinstance(v, torch.Tensor) else v for k, v in step_pass.inputs.items()
    }
    largest = _LargestOutput()
    keep = torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor)
    with torch.set_grad_enabled(step_pass.grad), largest, keep:
        if step_pass.loss is None:
            model(**inputs)
        else:
            step_pass.loss(model, inputs)
    return sum(saved.values()), largest.largest
