"""Bottleneck adapters (Houlsby / Pfeiffer), implemented here because PEFT has none."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.methods.base import train_head_and
from ftexp.methods.own_weights import OwnWeightsMethod
from ftexp.models.families import families_with, family_of, model_family

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask
    from ftexp.models.families import Family

WEIGHTS, CONFIG = "bottleneck_adapters.safetensors", "bottleneck_adapters.json"
ACTIVATIONS = ("relu", "gelu", "silu")


@dataclass
class Adapter(OwnWeightsMethod):
    """Bottleneck adapters; only the adapters, the head and optionally LayerNorms train.

    Houlsby et al. 2019 (arXiv:1902.00751); Pfeiffer et al. 2021 (arXiv:2005.00247).

    Attributes:
        variant: ``houlsby`` (after attention and FFN output) or ``pfeiffer`` (after FFN only).
        reduction_factor: hidden size / bottleneck size.
        residual: add the adapter output to its input (the standard form).
        train_layernorm: also train LayerNorm weights (Houlsby's paper does).
        attention_modules / ffn_modules: regexes naming each block's attention-output and
            FFN-output projections; ``null`` takes them from the model family
            (``ftexp.models.families``).
    """

    weights_file: ClassVar[str] = WEIGHTS
    settings_file: ClassVar[str] = CONFIG

    lr: float = 1e-3
    variant: str = "houlsby"
    reduction_factor: int = 16
    activation: str = "relu"
    residual: bool = True
    train_layernorm: bool = True
    attention_modules: str | None = None
    ffn_modules: str | None = None
    also_train: list[str] = field(default_factory=lambda: ["pooler"])

    def __post_init__(self) -> None:
        self.also_train = list(self.also_train)

    def problems(self) -> list[str]:
        """Check variant, reduction and activation."""
        issues = super().problems()
        if self.variant not in ("houlsby", "pfeiffer"):
            issues.append(f"method.variant must be houlsby or pfeiffer, got {self.variant!r}")
        if self.reduction_factor <= 0:
            issues.append(f"method.reduction_factor must be > 0, got {self.reduction_factor}")
        if self.activation not in ACTIVATIONS:
            issues.append(f"method.activation must be one of {sorted(ACTIVATIONS)}")
        return issues

    def family_problems(self, family: str | None) -> list[str]:
        """Whether this method can find its insertion points in a model family."""
        if family is None or all(self._targets(family_of(family)).values()):
            return []
        return [
            f"method=adapter cannot serve model family {family!r} (it knows "
            f"{families_with('ffn_output')}); "
            "set method.attention_modules and method.ffn_modules to regexes naming each block's "
            "attention-output and FFN-output projections"
        ]

    def _given(self) -> dict[str, str | None]:
        given = {"ffn": self.ffn_modules}
        if self.variant == "houlsby":
            given["attention"] = self.attention_modules
        return given

    def _targets(self, family: Family) -> dict[str, str]:
        """The sub-layer outputs this variant adapts: ``{kind: regex}``."""
        known = {"attention": family.attention_output, "ffn": family.ffn_output}
        return {kind: pattern or known[kind] or "" for kind, pattern in self._given().items()}

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Insert adapters after the matching projections and set what trains."""
        from torch import nn
        from transformers.pytorch_utils import Conv1D

        from ftexp.methods.bottleneck import AdaptedLinear, Bottleneck

        family = model_family(model)
        issues = self.family_problems(family.model_type or None)
        if issues:
            raise ValueError(issues[0])
        patterns = [re.compile(p) for p in self._targets(family).values() if p]
        matches = [
            (name, module)
            for name, module in model.named_modules()
            if isinstance(module, (nn.Linear, Conv1D)) and any(p.search(name) for p in patterns)
        ]
        if not matches:
            raise ValueError(
                f"no linear layer matches {[p.pattern for p in patterns]}; set "
                "method.attention_modules / method.ffn_modules for this model"
            )
        train_head_and(
            model,
            self.also_train,
            lambda name: self.train_layernorm and ("LayerNorm" in name or "layernorm" in name),
        )
        for name, linear in matches:
            parent_name, _, child = name.rpartition(".")
            adapter = Bottleneck(
                _out_features(linear), self.reduction_factor, self.activation, self.residual
            ).to(linear.weight.device)
            setattr(model.get_submodule(parent_name), child, AdaptedLinear(linear, adapter))
        return model

    def merged(self, model: nn.Module) -> nn.Module:
        """A bottleneck (down, non-linearity, up) cannot be folded into a linear layer."""
        from ftexp.errors import RunError

        raise RunError(
            "bottleneck adapters are non-linear and cannot be folded into the base weights; "
            "export them with --adapter (they reload with ftexp.run.reload.load_run)"
        )


def _out_features(layer: Any) -> int:
    """Output width of a linear layer (``nn.Linear``, or GPT-2's transposed ``Conv1D``)."""
    return int(getattr(layer, "out_features", None) or layer.nf)
