"""Parameter bookkeeping shared by methods and modules."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


def logical_numel(param: nn.Parameter) -> int:
    """Number of weights a parameter stands for.

    bitsandbytes 4-bit packs two weights per element; DeepSpeed ZeRO-3 leaves an empty local
    tensor and records the full size in ``ds_numel``.
    """
    ds_numel = getattr(param, "ds_numel", None)
    if isinstance(ds_numel, int):
        return ds_numel
    quant_state = getattr(param, "quant_state", None)
    shape = getattr(quant_state, "shape", None)
    return math.prod(shape) if shape is not None else param.numel()


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Return ``(trainable, total)`` parameter counts; shared tensors are counted once."""
    seen: set[int] = set()
    trainable = total = 0
    for param in model.parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        total += logical_numel(param)
        if param.requires_grad:
            trainable += trained_numel(param)
    return trainable, total


def train_rows_from(param: nn.Parameter, first: int) -> None:
    """Mark a matrix of which only rows ``first:`` train (their gradient is masked elsewhere)."""
    param.trained_from_row = first  # type: ignore[attr-defined]


def train_all_rows(param: nn.Parameter) -> None:
    """Lift a ``train_rows_from`` mark: every row of the matrix trains from now on."""
    if hasattr(param, "trained_from_row"):
        del param.trained_from_row


def trained_from_row(param: nn.Parameter) -> int | None:
    """The first row that trains of a matrix marked by ``train_rows_from``; None if unmarked."""
    first = getattr(param, "trained_from_row", None)
    return first if isinstance(first, int) else None


def trained_numel(param: nn.Parameter) -> int:
    """How many weights of a trainable parameter train: all, or a marked matrix's rows."""
    first = trained_from_row(param)
    if first is None:
        return logical_numel(param)
    return (param.shape[0] - first) * math.prod(param.shape[1:])


def describe_counts(trainable: int, total: int) -> str:
    """Return e.g. ``trainable 12,288 / 4,210,688 (0.29%)``."""
    share = 100.0 * trainable / max(total, 1)
    return f"trainable {trainable:,} / {total:,} ({share:.2f}%)"


def transformer_blocks(model: nn.Module) -> nn.ModuleList:
    """Return the stack of transformer blocks: the longest ModuleList of same-typed modules.

    Works for BERT (``encoder.layer``), Llama (``model.layers``), GPT-2 (``transformer.h``) and
    others without a per-architecture table.
    """
    from torch import nn

    best: nn.ModuleList | None = None
    for module in model.modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        if len({type(child) for child in module}) != 1:
            continue
        if best is None or len(module) > len(best):
            best = module
    if best is None:
        raise ValueError(f"{type(model).__name__} has no stack of transformer blocks")
    return best


def head_parameter_names(model: nn.Module) -> list[str]:
    """Return names of parameters outside the pretrained backbone (the task head)."""
    prefix = getattr(model, "base_model_prefix", "")
    return [
        name
        for name, _ in model.named_parameters()
        if not prefix or not name.startswith(prefix + ".")
    ]


def head_module_names(model: nn.Module) -> set[str]:
    """Names of the modules that hold the task head's parameters."""
    return {name.rsplit(".", 1)[0] for name in head_parameter_names(model)}


def layer_depths(model: nn.Module) -> dict[str, int]:
    """Map each parameter to its depth: below the blocks -1, block i -> i, above them -> L.

    "Below" is what comes before the first block (embeddings, a CNN's stem), "above" what comes
    after the last (pooler, final norm, head), in the model's own parameter order.
    """
    blocks = transformer_blocks(model)
    owner = {id(p): i for i, block in enumerate(blocks) for p in block.parameters()}
    depths = {}
    reached_blocks = False
    for name, param in model.named_parameters():
        if id(param) in owner:
            depths[name] = owner[id(param)]
            reached_blocks = True
        else:
            depths[name] = len(blocks) if reached_blocks else -1
    return depths


def below_blocks(model: nn.Module) -> set[str]:
    """Names of the parameters below the first block (embeddings, a CNN's stem)."""
    return {name for name, depth in layer_depths(model).items() if depth < 0}


def layerwise_lr_scales(model: nn.Module, decay: float) -> dict[str, float]:
    """Discriminative learning rates (Howard & Ruder 2018): ``decay ** (L - depth)``.

    The head gets the full rate, the top block ``decay``, and the embeddings ``decay ** (L + 1)``.
    """
    depths = layer_depths(model)
    top = max(depths.values(), default=0)
    return {name: decay ** (top - depth) for name, depth in depths.items()}


def hold_frozen_norm_statistics(model: nn.Module) -> None:
    """Put every batch norm whose weights are frozen in eval mode (its statistics stay put)."""
    from torch.nn.modules.batchnorm import _BatchNorm

    for module in model.modules():
        if isinstance(module, _BatchNorm) and module.affine and not module.weight.requires_grad:
            module.eval()
