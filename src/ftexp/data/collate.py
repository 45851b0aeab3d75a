"""Batch collation with dynamic padding (pad to the longest sequence in the batch)."""

from __future__ import annotations

from typing import Any

import torch


class PaddingCollator:
    """Pad ``input_ids`` to the batch maximum and build the attention mask."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate examples into padded tensors."""
        width = max(len(x["input_ids"]) for x in batch)
        input_ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, example in enumerate(batch):
            ids = example["input_ids"]
            input_ids[row, : len(ids)] = torch.as_tensor(ids)
            mask[row, : len(ids)] = 1
        labels = torch.as_tensor([x["labels"] for x in batch], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}
