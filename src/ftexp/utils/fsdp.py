"""FSDP2 (``torch.distributed.fsdp.fully_shard``) for ``trainer=fsdp``: shard, then gather back."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from ftexp.utils.params import transformer_blocks


def fully_shard_blocks(model: nn.Module, mesh: Any) -> None:
    """Shard each transformer block as one FSDP2 unit, then the rest of the model as the root.

    Per-block units bound peak memory to one gathered block at a time. The blocks are the
    stack ``freeze`` and ``gradual_unfreeze`` use. Frozen and trainable parameters may share a
    unit (FSDP2 shards per parameter), so LoRA and friends need nothing special.
    """
    from torch.distributed.fsdp import fully_shard

    try:
        blocks = list(transformer_blocks(model))
    except ValueError:
        blocks = []
        rank_zero_warn(
            f"trainer=fsdp: {type(model).__name__} has no stack of transformer blocks; "
            "sharding it as one unit, which gathers every weight at once"
        )
    for block in blocks:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)


def full_state_dict(model: nn.Module) -> dict[str, Any]:
    """Every rank calls this; rank 0 receives the whole unsharded state on CPU, others {}."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=options)
