"""Bottleneck adapters (Houlsby / Pfeiffer), implemented here because PEFT has none."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ftexp.methods.base import Method, train_head_and

WEIGHTS, CONFIG = "bottleneck_adapters.safetensors", "bottleneck_adapters.json"
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


class Bottleneck(nn.Module):
    """``h + up(act(down(h)))`` with ``up`` zero-initialised, so training starts at identity."""

    def __init__(self, dim: int, reduction: int, activation: str, residual: bool) -> None:
        super().__init__()
        hidden = max(1, dim // reduction)
        self.down, self.act, self.up = (
            nn.Linear(dim, hidden),
            ACTIVATIONS[activation](),
            nn.Linear(hidden, dim),
        )
        self.residual = residual
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Apply the adapter to a sub-layer output."""
        update = self.up(self.act(self.down(hidden)))
        return hidden + update if self.residual else update


class AdaptedLinear(nn.Module):
    """A frozen linear sub-layer output projection followed by a bottleneck adapter."""

    def __init__(self, base: nn.Linear, adapter: Bottleneck) -> None:
        super().__init__()
        self.base, self.adapter = base, adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project, then adapt (before the block's residual add and LayerNorm, as in Houlsby)."""
        return self.adapter(self.base(x))


@dataclass
class Adapter(Method):
    """Bottleneck adapters; only the adapters, the head and optionally LayerNorms train.

    Houlsby et al. 2019 (arXiv:1902.00751); Pfeiffer et al. 2021 (arXiv:2005.00247).

    Attributes:
        variant: ``houlsby`` (after attention and FFN output) or ``pfeiffer`` (after FFN only).
        reduction_factor: hidden size / bottleneck size.
        residual: add the adapter output to its input (the standard form).
        train_layernorm: also train LayerNorm weights (Houlsby's paper does).
        attention_modules / ffn_modules: regexes naming each block's attention-output and
            FFN-output projections; they come from the model family's config.
    """

    lr: float = 1e-3
    variant: str = "houlsby"
    reduction_factor: int = 16
    activation: str = "relu"
    residual: bool = True
    train_layernorm: bool = True
    attention_modules: str = r"attention\.output\.dense$"
    ffn_modules: str = r"layer\.\d+\.output\.dense$"
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
        for key, pattern in self._targets().items():
            if not pattern:
                issues.append(
                    f"method=adapter cannot serve this model: model.adapter_targets.{key} is not "
                    "set; give regexes naming each block's attention-output and FFN-output "
                    "projections (see conf/model/minilm.yaml for BERT)"
                )
        return issues

    def _targets(self) -> dict[str, str]:
        """The sub-layer outputs this variant adapts: ``{kind: regex}``."""
        targets = {"ffn": self.ffn_modules}
        if self.variant == "houlsby":
            targets["attention"] = self.attention_modules
        return targets

    def apply(self, model: nn.Module) -> nn.Module:
        """Insert adapters after the matching projections and set what trains."""
        patterns = [re.compile(p) for p in self._targets().values()]
        matches = [
            (name, module)
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and any(p.search(name) for p in patterns)
        ]
        if not matches:
            raise ValueError(
                f"no linear layer matches {[p.pattern for p in patterns]}; set "
                "model.adapter_targets for this model family"
            )
        train_head_and(
            model,
            self.also_train,
            lambda name: self.train_layernorm and ("LayerNorm" in name or "layernorm" in name),
        )
        for name, linear in matches:
            parent_name, _, child = name.rpartition(".")
            adapter = Bottleneck(
                linear.out_features, self.reduction_factor, self.activation, self.residual
            ).to(linear.weight.device)
            setattr(model.get_submodule(parent_name), child, AdaptedLinear(linear, adapter))
        return model

    def save(self, model: nn.Module, out_dir: Path) -> None:
        """Write the trainable tensors (adapters, head, norms) and the method settings."""
        out_dir.mkdir(parents=True, exist_ok=True)
        tensors = {
            n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad
        }
        save_file(tensors, out_dir / WEIGHTS)
        (out_dir / CONFIG).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    def load_saved(self, spec: Any, out_dir: Path) -> nn.Module:
        """Rebuild base + adapters from the spec, then load the saved tensors."""
        model = self.apply(self.load_base(spec, out_dir))
        tensors = load_file(out_dir / WEIGHTS)
        missing = set(tensors) - set(dict(model.named_parameters()))
        if missing:
            raise ValueError(f"{out_dir / WEIGHTS} has tensors the model lacks: {sorted(missing)}")
        model.load_state_dict(tensors, strict=False)
        return model
