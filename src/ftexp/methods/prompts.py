"""Soft-prompt methods through PEFT: prompt tuning, P-tuning, prefix tuning / P-tuning v2."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.methods.peft_base import PeftMethod

if TYPE_CHECKING:
    from peft import PeftConfig
    from torch import nn

    from ftexp.contract import ModelTask


@dataclass
class _VirtualTokens(PeftMethod):
    """Common setting: how many trainable virtual tokens are prepended."""

    incompatible_strategies: ClassVar[dict[str, str]] = {
        "fsdp": "PEFT's virtual-token models keep a second reference to the word embeddings "
        "outside the model's blocks, which FSDP2 cannot shard (overlapping device meshes); "
        "use trainer=ddp, or method=lora with trainer=fsdp",
    }

    lr: float = 1e-2
    num_virtual_tokens: int = 20
    # extra modules trained in full and saved with the prompts (the head always is), e.g. a
    # BERT pooler, which an encoder trained with mean pooling never tuned
    modules_to_save: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.modules_to_save = list(self.modules_to_save)

    def merged(self, model: nn.Module) -> Any:
        """Virtual tokens are inputs, not weights: nothing to fold into the base."""
        from ftexp.errors import RunError

        raise RunError(
            f"{type(self).__name__} trains virtual tokens that are inputs, not weights, so it "
            "cannot be merged into the base; export it with --adapter"
        )

    def task_problems(self, task: ModelTask) -> list[str]:
        """Virtual tokens go before a text model's input tokens: an image model has none."""
        if task.peft_task is not None:
            return []
        return [
            f"the soft-prompt methods (prompt, ptuning, prefix, ptuning_v2) prepend virtual tokens "
            f"to a text model's input; a model for {task.name} reads pixels: use method=lora, "
            "full, freeze, linear_probe or gradual_unfreeze"
        ]

    def problems(self) -> list[str]:
        """Check the number of virtual tokens."""
        issues = super().problems()
        if self.num_virtual_tokens <= 0:
            issues.append(f"method.num_virtual_tokens must be > 0, got {self.num_virtual_tokens}")
        return issues


@dataclass
class PromptTuning(_VirtualTokens):
    """Trainable input embeddings only (Lester et al. 2021, arXiv:2104.08691)."""

    def peft_config(self, task_type: str | None) -> PeftConfig:
        """Return the PEFT prompt-tuning config."""
        from peft import PromptTuningConfig

        return PromptTuningConfig(
            task_type=task_type,
            num_virtual_tokens=self.num_virtual_tokens,
            modules_to_save=self.modules_to_save or None,
        )


@dataclass
class PTuning(_VirtualTokens):
    """Virtual tokens produced by a small MLP/LSTM encoder (Liu et al. 2021, arXiv:2103.10385).

    Attributes:
        encoder: ``MLP`` or ``LSTM`` reparameterisation of the prompt.
        encoder_hidden_size: hidden width of that encoder.
    """

    encoder: str = "MLP"
    encoder_hidden_size: int = 128

    def problems(self) -> list[str]:
        """Check the encoder type."""
        issues = super().problems()
        if self.encoder not in ("MLP", "LSTM"):
            issues.append(f"method.encoder must be MLP or LSTM, got {self.encoder!r}")
        return issues

    def peft_config(self, task_type: str | None) -> PeftConfig:
        """Return the PEFT prompt-encoder config."""
        from peft import PromptEncoderConfig, PromptEncoderReparameterizationType

        return PromptEncoderConfig(
            task_type=task_type,
            num_virtual_tokens=self.num_virtual_tokens,
            encoder_reparameterization_type=PromptEncoderReparameterizationType(self.encoder),
            encoder_hidden_size=self.encoder_hidden_size,
            modules_to_save=self.modules_to_save or None,
        )


@dataclass
class PrefixTuning(_VirtualTokens):
    """Trainable key/value prefixes in every layer (Li & Liang 2021, arXiv:2101.00190).

    With ``prefix_projection=false`` this is P-tuning v2's deep prompts (Liu et al. 2022,
    arXiv:2110.07602): the per-layer prefixes are trained directly, without the MLP.

    Attributes:
        prefix_projection: reparameterise the prefixes through an MLP (stabler, more params).
        encoder_hidden_size: hidden width of that MLP.
    """

    prefix_projection: bool = True
    encoder_hidden_size: int = 256

    def peft_config(self, task_type: str | None) -> PeftConfig:
        """Return the PEFT prefix-tuning config."""
        from peft import PrefixTuningConfig

        return PrefixTuningConfig(
            task_type=task_type,
            num_virtual_tokens=self.num_virtual_tokens,
            prefix_projection=self.prefix_projection,
            encoder_hidden_size=self.encoder_hidden_size,
            modules_to_save=self.modules_to_save or None,
        )
