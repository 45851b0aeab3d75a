"""Speed switches (``speed`` group): how the backbone executes, never what it computes."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

ATTENTION = ("eager", "sdpa", "flash_attention_2", "flex_attention")


@dataclass
class SpeedConfig:
    """Execution settings, each measured by ``make bench`` (see README, Speed).

    Attributes:
        compile: ``torch.compile`` the model's forward in place (parameter names unchanged, so
            checkpoints and saved adapters are the same with or without it).
        gradient_checkpointing: recompute activations in the backward pass (less memory,
            ~30% more compute).
        liger_kernel: fused Triton kernels (RMSNorm, SwiGLU, RoPE, fused linear cross-entropy)
            for the model families Liger supports; needs CUDA and ``pip install liger-kernel``.
        attn_implementation: ``sdpa`` (default, flash/memory-efficient kernels), ``eager``,
            ``flash_attention_2`` or ``flex_attention``; ``null`` keeps the model's default.
        chunked_loss: next-token losses (``objective=sft``) take the final hidden states
            through the vocabulary projection a chunk of rows at a time, their gradients made
            in the same pass, so full-vocabulary logits are never held (same loss and
            gradients). Off, or where the head is not a plain linear map (a LoRA-wrapped or
            quantised head, softcapped logits, sharded weights), the model's own loss runs.
        trim_heap: on the CPU, hand the heap's freed memory back to the OS after every
            optimiser step (glibc's ``malloc_trim``): a lower peak RSS, for re-faulting those
            pages in the next step (packed SFT bench: 0.89x the peak at 0.80x the speed).
        give_back_memory: on the CPU, have glibc map every block over 64 KiB on its own, so
            each freed tensor goes back to the OS at once and RSS follows what the step holds
            (0.91-0.96x the memory estimate, where glibc's defaults keep 1.0-2.8x), at a speed
            cost (0.65x, packed SFT). ``None`` (default): only where the estimate times what
            glibc keeps would not fit the RAM available, so a run that fits in truth is not
            killed for the allocator's keep.
    """

    compile: bool = False
    gradient_checkpointing: bool = False
    liger_kernel: bool = False
    attn_implementation: str | None = None
    chunked_loss: bool = True
    trim_heap: bool = False
    give_back_memory: bool | None = None

    def problems(self) -> list[str]:
        """List settings this machine or install cannot honour."""
        issues = []
        if self.attn_implementation not in (None, *ATTENTION):
            issues.append(
                f"speed.attn_implementation={self.attn_implementation!r} is not one of {ATTENTION}"
            )
        if self.liger_kernel and importlib.util.find_spec("liger_kernel") is None:
            issues.append("speed.liger_kernel=true needs `pip install liger-kernel` (CUDA only)")
        if self.liger_kernel and not _cuda_available():
            issues.append("speed.liger_kernel=true needs a CUDA GPU; set it false on CPU")
        return issues

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``from_pretrained``."""
        return {"attn_implementation": self.attn_implementation} if self.attn_implementation else {}

    def prepare_backbone(self, model: nn.Module) -> nn.Module:
        """Apply kernel swaps and checkpointing to the loaded backbone (before the method)."""
        if self.liger_kernel:
            from liger_kernel.transformers import _apply_liger_kernel_to_instance

            _apply_liger_kernel_to_instance(model=model)
            _info("[ftexp] Liger kernels applied")
        if self.gradient_checkpointing:
            # non-reentrant checkpointing works with frozen inputs (PEFT) without extra hooks
            model.gradient_checkpointing_enable(  # type: ignore[operator]
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        return model

    def callbacks(self) -> list[Any]:
        """Trainer callbacks these settings add."""
        from ftexp.memory.heap import TrimHeap

        return [TrimHeap()] if self.trim_heap else []

    def finalize(self, model: nn.Module) -> nn.Module:
        """Compile the finished model in place (after the method rewrote it)."""
        if self.compile:
            model.compile()
        return model


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _info(message: str) -> None:
    from lightning.pytorch.utilities import rank_zero_info

    rank_zero_info(message)
