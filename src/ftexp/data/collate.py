"""Batch collation (imports torch; the data classes import this lazily)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ftexp.batch import IGNORE, token_ids
from ftexp.data.conversations import Asked

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "IGNORE",
    "AugmentingCollator",
    "ChatCollator",
    "JudgedCollator",
    "MaskingCollator",
    "PaddingCollator",
    "PairCollator",
    "PromptCollator",
    "TagCollator",
    "mask_tokens",
]


def _padded(
    rows: list[list[int]], pad: int, left: bool = False, width: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` of rows padded to the longest or ``width`` (right-padded unless ``left``)."""
    width = max(width, *(len(r) for r in rows))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.as_tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


class PaddingCollator:
    """Pad ``input_ids`` to the batch maximum, build the attention mask, stack class ids."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate examples into padded tensors."""
        ids, mask = _padded([x["input_ids"] for x in batch], self.pad_token_id)
        labels = torch.as_tensor([x["label"] for x in batch], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask, "label": labels}


class AugmentingCollator:
    """Augment each drawn training text (seeded by its draw), tokenize it, then pad."""

    def __init__(
        self,
        padding: PaddingCollator,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int,
        settings: Any,
        seed: int,
    ) -> None:
        self.padding, self.tokenizer, self.max_length = padding, tokenizer, max_length
        self.settings, self.seed = dict(settings), seed

    def __call__(self, batch: list[tuple[dict[str, Any], int]]) -> dict[str, torch.Tensor]:
        """``(example, draw)`` pairs into a padded batch of augmented texts."""
        from ftexp.data.augment import augment, draw_rng

        texts = [augment(x["text"], self.settings, draw_rng(self.seed, d)) for x, d in batch]
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        return self.padding(
            [{"input_ids": i, "label": x["label"]} for i, (x, _) in zip(ids, batch, strict=True)]
        )


class TagCollator:
    """Pad ``input_ids`` and the per-token ``tags`` (with the ignore index) to the batch maximum."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate tagged sentences into padded tensors."""
        ids, mask = _padded([x["input_ids"] for x in batch], self.pad_token_id)
        tags = torch.full(ids.shape, IGNORE, dtype=torch.long)
        for i, x in enumerate(batch):
            tags[i, : len(x["tags"])] = torch.as_tensor(x["tags"], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask, "tags": tags}


class ChatCollator:
    """Pad examples, or lay packed documents side by side with restarting positions.

    Packed rows carry ``position_ids`` that restart at 0 for each document and no attention
    mask: the model then attends only within a document (block-diagonal causal mask), so packing
    never lets one example see another. The first token of each document has label -100, so no
    loss crosses a boundary either. ``seq_lengths`` lists document lengths for throughput.
    """

    def __init__(self, pad_token_id: int, packed: bool) -> None:
        self.pad_token_id, self.packed = pad_token_id, packed

    def __call__(self, batch: list[Any]) -> dict[str, torch.Tensor]:
        """Collate examples (or packed rows of examples)."""
        rows = batch if self.packed else [[example] for example in batch]
        width = max(sum(len(doc["input_ids"]) for doc in row) for row in rows)
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        lengths = []
        for r, row in enumerate(rows):
            start = 0
            for doc in row:
                n = len(doc["input_ids"])
                ids[r, start : start + n] = torch.tensor(doc["input_ids"])
                labels[r, start : start + n] = torch.tensor(doc["labels"])
                labels[r, start] = IGNORE
                positions[r, start : start + n] = torch.arange(n)
                mask[r, start : start + n] = 1
                lengths.append(n)
                start += n
            positions[r, start:] = torch.arange(width - start)  # padding: its own "document"
        out = {"input_ids": ids, "labels": labels, "seq_lengths": torch.tensor(lengths)}
        if self.packed:
            out["position_ids"] = positions
        else:
            out["attention_mask"] = mask
        return out


def _labelled(
    rows: list[dict[str, Any]], pad: int, prefix: str = "", width: int = 0
) -> dict[str, torch.Tensor]:
    """``{prefix}input_ids``, ``attention_mask`` and ``labels`` of rows, right-padded alike."""
    ids, mask = _padded([x[f"{prefix}input_ids"] for x in rows], pad, width=width)
    labels = torch.full(ids.shape, IGNORE, dtype=torch.long)
    for i, x in enumerate(rows):
        labels[i, : len(x[f"{prefix}labels"])] = torch.as_tensor(x[f"{prefix}labels"])
    return {f"{prefix}input_ids": ids, f"{prefix}attention_mask": mask, f"{prefix}labels": labels}


class PairCollator:
    """Right-pad chosen and rejected sequences to one shared width."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        """Collate pairs."""
        width = max(len(x[f"{k}_input_ids"]) for x in batch for k in ("chosen", "rejected"))
        return {
            **_labelled(batch, self.pad_token_id, "chosen_", width),
            **_labelled(batch, self.pad_token_id, "rejected_", width),
        }


class JudgedCollator:
    """Right-pad single replies and stack their ``desirable`` flags (unpaired preference)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate judged replies."""
        out = _labelled(batch, self.pad_token_id)
        out["desirable"] = torch.tensor([bool(x["desirable"]) for x in batch])
        return out


def mask_tokens(
    ids: torch.Tensor,
    tokenizer: PreTrainedTokenizerBase,
    probability: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: pick ``probability`` of the real tokens; 80% [MASK], 10% random, 10% kept.

    Returns ``(inputs, labels)``; labels are -100 except at picked positions. Special and
    padding tokens are never picked.
    """
    special = torch.tensor(
        [
            tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
            for row in ids.tolist()
        ],
        dtype=torch.bool,
    )
    picked = (torch.rand(ids.shape, generator=generator) < probability) & ~special
    labels = torch.where(picked, ids, torch.full_like(ids, IGNORE))
    inputs = ids.clone()
    roll = torch.rand(ids.shape, generator=generator)
    inputs[picked & (roll < 0.8)] = int(tokenizer.mask_token_id)
    swap = picked & (roll >= 0.8) & (roll < 0.9)
    inputs[swap] = torch.randint(len(tokenizer), ids.shape, generator=generator)[swap]
    return inputs, labels


class MaskingCollator:
    """Pad, then mask (fresh masks each time for training, fixed by ``seed`` for evaluation)."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, probability: float, seed: int | None
    ) -> None:
        self.tokenizer, self.probability, self.seed = tokenizer, probability, seed

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Collate and mask."""
        ids, mask = _padded([x["input_ids"] for x in batch], self.tokenizer.pad_token_id or 0)
        generator = None
        if self.seed is not None:  # evaluation: the same masks every time
            generator = torch.Generator().manual_seed(self.seed + int(ids.sum()))
        inputs, labels = mask_tokens(ids, self.tokenizer, self.probability, generator)
        labels[mask == 0] = IGNORE
        return {"input_ids": inputs, "attention_mask": mask, "mlm_labels": labels}


class PromptCollator:
    """Chat-template user prompts and left-pad them (generation appends on the right).

    The batch also holds each prompt's text (``prompt_text``: the last user turn) and the
    fields it carries (``prompt_fields``: ``{name: [value per prompt]}``) for the rewards.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, fields: list[str] | None = None) -> None:
        self.tokenizer = tokenizer
        self.fields = list(fields or [])

    def __call__(self, prompts: list[Any]) -> dict[str, Any]:
        """Collate prompts (user texts, ``Asked`` prompts, or the chat messages so far)."""
        turns = [_turns(p) for p in prompts]
        rows = [
            token_ids(
                self.tokenizer.apply_chat_template(t, add_generation_prompt=True, tokenize=True)
            )
            for t in turns
        ]
        ids, mask = _padded(rows, self.tokenizer.pad_token_id or 0, left=True)
        carried = [dict(p.fields) if isinstance(p, Asked) else {} for p in prompts]
        return {
            "prompt_input_ids": ids,
            "prompt_attention_mask": mask,
            "prompt_text": [t[-1]["content"] for t in turns],
            "prompt_fields": {name: [c.get(name, "") for c in carried] for name in self.fields},
        }


def _turns(prompt: Any) -> list[dict[str, str]]:
    """A prompt as chat messages."""
    if isinstance(prompt, Asked):
        prompt = prompt.prompt
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


def lm_batch(rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stack fixed-length token rows; every position is a target."""
    ids = torch.as_tensor([row["input_ids"] for row in rows], dtype=torch.long)
    return {"input_ids": ids, "labels": ids.clone()}


@dataclass
class GreyImages:
    """Square grey images (raw bytes) -> RGB -> the model's image processor, one batch at a time."""

    processor: Any

    def __call__(self, rows: list[tuple[bytes, int]]) -> dict[str, torch.Tensor]:
        """Decode, repeat the grey channel three times, process, stack with the class ids."""
        import math

        import numpy as np

        side = math.isqrt(len(rows[0][0]))
        grey = np.frombuffer(b"".join(pixels for pixels, _ in rows), dtype=np.uint8)
        images = list(np.repeat(grey.reshape(-1, side, side, 1), 3, axis=-1))
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
        labels = torch.as_tensor([label for _, label in rows], dtype=torch.long)
        return {"pixel_values": pixels, "label": labels}


def image_batch(rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stack processed images and their class ids."""
    pixels = torch.stack([torch.as_tensor(row["pixel_values"]) for row in rows])
    labels = torch.as_tensor([row["label"] for row in rows], dtype=torch.long)
    return {"pixel_values": pixels, "label": labels}
