"""Replace bitsandbytes 4/8-bit linear layers by plain float ones (for a merged export)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn


def dequantized(model: nn.Module) -> Any:
    """``model`` with every bitsandbytes linear layer de-quantised to a float ``nn.Linear``."""
    import torch
    from peft.utils.integrations import dequantize_bnb_weight
    from torch import nn

    for name, module in list(model.named_modules()):
        weight = getattr(module, "weight", None)
        if type(weight).__name__ not in ("Params4bit", "Int8Params"):
            continue
        state = getattr(weight, "quant_state", None) or getattr(module, "state", None)
        dense = dequantize_bnb_weight(weight, state=state).to(torch.float32)
        plain = nn.Linear(dense.shape[1], dense.shape[0], bias=module.bias is not None)
        plain.weight.data.copy_(dense)
        if module.bias is not None:
            plain.bias.data.copy_(module.bias.data.float())
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, plain)
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "quantization_config"):
        del config.quantization_config  # a plain float model now
    for attribute in ("hf_quantizer", "is_quantized", "is_loaded_in_4bit", "is_loaded_in_8bit"):
        model.__dict__.pop(attribute, None)
    return model
