"""QLoRA: LoRA on a frozen base quantised by bitsandbytes (4-bit NF4/FP4 or 8-bit)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.methods.lora import LoRA

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask

DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class QLoRA(LoRA):
    """Dettmers et al. 2023 (arXiv:2305.14314): NF4 base, double quantisation, LoRA on top.

    Attributes:
        bits: 4 (NF4/FP4) or 8 (LLM.int8).
        quant_type: ``nf4`` or ``fp4`` (4-bit only).
        double_quant: also quantise the quantisation constants (~0.4 bit/param saved).
        compute_dtype: dtype of the de-quantised matmuls.
        skip_modules: modules kept in full precision: a freshly initialised head must stay
            unquantised (and trainable), so ``classifier`` is always needed here; decoders keep
            ``lm_head``.
    """

    incompatible_strategies: ClassVar[dict[str, str]] = {
        "deepspeed_stage_3": "ZeRO-3 partitions parameters, and the packed uint8 4/8-bit weights "
        "bitsandbytes stores cannot be partitioned; use trainer=ddp, or method=lora with ZeRO-3",
        "fsdp": "FSDP2 cannot shard bitsandbytes' packed 4/8-bit weights (Params4bit / Int8Params "
        "are not DTensor-aware); use trainer=ddp, or method=lora with trainer=fsdp",
    }

    bits: int = 4
    quant_type: str = "nf4"
    double_quant: bool = True
    compute_dtype: str = "float32"
    skip_modules: list[str] = field(default_factory=lambda: ["classifier", ".*pooler", "lm_head"])

    def __post_init__(self) -> None:
        super().__post_init__()
        self.skip_modules = list(self.skip_modules)

    def problems(self) -> list[str]:
        """Check the quantisation settings and that bitsandbytes is installed."""
        issues = super().problems()
        if self.bits not in (4, 8):
            issues.append(f"method.bits must be 4 or 8, got {self.bits}")
        if self.quant_type not in ("nf4", "fp4"):
            issues.append(f"method.quant_type must be nf4 or fp4, got {self.quant_type!r}")
        if self.compute_dtype not in DTYPES:
            issues.append(f"method.compute_dtype must be one of {sorted(DTYPES)}")
        if importlib.util.find_spec("bitsandbytes") is None:
            issues.append("method=qlora needs bitsandbytes: pip install 'ftexp[quant]'")
        return issues

    def load_kwargs(self) -> dict[str, Any]:
        """Quantise the base while loading."""
        import torch
        from transformers import BitsAndBytesConfig

        dtype = getattr(torch, self.compute_dtype)

        if self.bits == 8:
            config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=self.skip_modules)
        else:
            config = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type=self.quant_type,
                bnb_4bit_use_double_quant=self.double_quant,
                bnb_4bit_compute_dtype=dtype,
                llm_int8_skip_modules=self.skip_modules,
            )
        kwargs: dict[str, Any] = {"quantization_config": config}
        if torch.cuda.is_available():  # quantise straight onto this process's GPU
            kwargs["device_map"] = {"": torch.cuda.current_device()}
            kwargs["dtype"] = dtype
        return kwargs

    def weight_bytes(self, model: nn.Module) -> int:
        """The frozen linear weights at their packed size; the rest (LoRA, skipped) as they are.

        4-bit: half a byte per weight plus one constant per block of 64 (one byte with double
        quantisation, else four); 8-bit: a byte per weight plus a float per row.
        """
        import re

        from torch import nn

        packed = 0
        for name, module in model.named_modules():
            weight = getattr(module, "weight", None)
            skipped = any(re.search(pattern, name) for pattern in self.skip_modules)
            if (
                not isinstance(module, nn.Linear)
                or weight is None
                or weight.requires_grad
                or skipped
            ):
                continue
            full = weight.numel() * weight.element_size()
            if self.bits == 8:
                quantised = weight.numel() + 4 * weight.shape[0]
            else:
                quantised = weight.numel() // 2 + weight.numel() // 64 * (
                    1 if self.double_quant else 4
                )
            packed += full - quantised
        return super().weight_bytes(model) - packed

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Prepare the quantised model for training (fp32 norms, input grads), then add LoRA."""
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        return super().apply(model, task)
