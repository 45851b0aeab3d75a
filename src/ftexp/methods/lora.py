"""LoRA and DoRA through PEFT: low-rank updates on chosen linear layers, the base stays frozen."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ftexp.methods.peft_base import PeftMethod
from ftexp.models.families import model_family

if TYPE_CHECKING:
    from peft import LoraConfig
    from torch import nn

    from ftexp.contract import ModelTask


@dataclass
class LoRA(PeftMethod):
    """Low-rank adapters (Hu et al. 2021, arXiv:2106.09685). Key names follow the paper.

    Attributes:
        r: adapter rank.
        alpha: scaling numerator; the update is scaled by ``alpha / r``.
        dropout: dropout on the adapter input.
        target_modules: module-name suffixes to adapt; ``null`` adapts every linear layer but
            the output head (PEFT's ``all-linear``), or the layers that hold a family's
            weights where they are not linear (a CNN's 1x1 convolutions:
            ``Family.weight_layers``).
        modules_to_save: extra modules trained in full and saved with the adapter (the
            classification head is always included by PEFT's SEQ_CLS task).
        use_dora: weight-decomposed LoRA (DoRA, Liu et al. 2024, arXiv:2402.09353).
        use_rslora: rank-stabilised scaling ``alpha / sqrt(r)`` (Kalajdzievski 2023).
    """

    lr: float = 5e-4
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] | None = None
    modules_to_save: list[str] = field(default_factory=list)
    use_dora: bool = False
    use_rslora: bool = False

    def __post_init__(self) -> None:
        self.target_modules = None if self.target_modules is None else list(self.target_modules)
        self.modules_to_save = list(self.modules_to_save)

    def problems(self) -> list[str]:
        """Check rank, alpha, dropout and targets."""
        issues = super().problems()
        if self.r <= 0:
            issues.append(f"method.r must be > 0, got {self.r} (typical: 4-64)")
        if self.alpha <= 0:
            issues.append(f"method.alpha must be > 0, got {self.alpha} (typical: 2*r)")
        if not 0 <= self.dropout < 1:
            issues.append(f"method.dropout must be in [0, 1), got {self.dropout}")
        if self.target_modules is not None and not self.target_modules:
            issues.append(
                "method.target_modules is empty; name at least one linear layer, or null for all"
            )
        return issues

    def named_targets(self) -> list[str]:
        """The layers named in ``target_modules`` (none: the family's own or all linear)."""
        return list(self.target_modules or [])

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Wrap the model; with no targets named, the family's own (else all linear layers)."""
        weight_layers = model_family(model).weight_layers
        if self.target_modules is None and weight_layers:
            return PeftMethod.apply(replace(self, target_modules=list(weight_layers)), model, task)
        return super().apply(model, task)

    def peft_config(self, task_type: str | None) -> LoraConfig:
        """Return the PEFT LoRA config."""
        from peft import LoraConfig

        return LoraConfig(
            task_type=task_type,
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules or "all-linear",
            modules_to_save=self.modules_to_save or None,
            use_dora=self.use_dora,
            use_rslora=self.use_rslora,
        )
