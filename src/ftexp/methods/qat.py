"""Quantisation-aware fine-tuning with torchao: train with fake quantisation, then convert."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.methods.layerwise import LayerwiseLR

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask
    from ftexp.models.base import ModelSpec


@dataclass
class QAT(LayerwiseLR):
    """Full fine-tuning through fake-quantised linear layers (torchao ``QATConfig``).

    Training sees int8 dynamic activations and intN weights, so the model learns to tolerate
    the rounding; ``convert`` then swaps in really quantised weights, and the run evaluates
    the model both before and after that swap (``test/*`` and ``converted/test/*``).

    Attributes:
        weight_bits: 4 or 8-bit weights.
        group_size: weights per quantisation group (4-bit); ``null`` = one scale per channel.
        skip_modules: substrings of linear-layer names kept in float (the new head).
    """

    incompatible_strategies: ClassVar[dict[str, str]] = {
        "fsdp": "torchao's fake-quantised linears mix plain tensors with FSDP2's sharded "
        "(DTensor) weights and fail in the first matmul; use trainer=ddp",
    }

    lr: float = 5e-5
    weight_bits: int = 8
    group_size: int | None = None
    skip_modules: list[str] = field(default_factory=lambda: ["classifier"])

    def __post_init__(self) -> None:
        self.skip_modules = list(self.skip_modules)

    def problems(self) -> list[str]:
        """Check bits, group size and that torchao is installed."""
        issues = super().problems()
        if self.weight_bits not in (4, 8):
            issues.append(f"method.weight_bits must be 4 or 8, got {self.weight_bits}")
        if self.group_size is not None and self.group_size <= 0:
            issues.append(f"method.group_size must be > 0 or null, got {self.group_size}")
        if importlib.util.find_spec("torchao") is None:
            issues.append("method=qat needs torchao: pip install 'ftexp[quant]'")
        return issues

    def _base_config(self) -> Any:
        import torch
        from torchao.quantization import Int8DynamicActivationIntxWeightConfig
        from torchao.quantization.granularity import PerAxis, PerGroup

        granularity = PerGroup(self.group_size) if self.group_size else PerAxis(0)
        return Int8DynamicActivationIntxWeightConfig(
            weight_dtype=getattr(torch, f"int{self.weight_bits}"),
            weight_granularity=granularity,
        )

    def _quantize(self, model: nn.Module, step: str) -> nn.Module:
        from torch import nn
        from torchao.quantization import quantize_
        from torchao.quantization.qat import QATConfig

        def wanted(module: nn.Module, name: str) -> bool:
            return isinstance(module, nn.Linear) and not any(s in name for s in self.skip_modules)

        quantize_(model, QATConfig(self._base_config(), step=step), filter_fn=wanted)
        return model

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Make every weight trainable and insert fake quantisers into the linear layers."""
        model.requires_grad_(True)
        return self._quantize(model, "prepare")

    def convert(self, model: nn.Module) -> nn.Module:
        """Replace fake quantisation by real int weights (int8 dynamic activations)."""
        return self._quantize(model, "convert")

    def save(self, model: nn.Module, out_dir: Path) -> None:
        """Save float weights in HF format (fake quantisers hold no state)."""
        model.save_pretrained(out_dir)  # type: ignore[operator]

    def load_saved(self, spec: ModelSpec, out_dir: Path, task: ModelTask) -> nn.Module:
        """Reload the float weights and re-insert the fake quantisers used in training."""
        return self._quantize(super().load_saved(spec, out_dir, task), "prepare")
