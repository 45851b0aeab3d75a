"""Prompt/response pairs for causal-LM SFT: chat template, response-only loss, optional packing."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from ftexp.data.resumable import SplitLoaders, split_loader
from ftexp.data.sources import column_problems, load_rows, split_files
from ftexp.errors import DataError

IGNORE = -100
Pair = tuple[str, str]


def read_conversations(path: Path) -> list[Pair]:
    """Read chatterbot-corpus YAML (a file or a folder of them) as (prompt, reply) pairs.

    Each ``conversations`` entry is a list of turns; every turn and the next form a pair.
    """
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise DataError(path, "no .yml files", fix="point data.path at chatterbot-style YAML")
    pairs = []
    for file in files:
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise DataError(
                file, f"not readable YAML: {err}", fix="fix or remove the file"
            ) from err
        conversations = doc.get("conversations") if isinstance(doc, dict) else None
        if not isinstance(conversations, list):
            raise DataError(file, "no 'conversations' list", fix="use chatterbot-corpus format")
        for turns in conversations:
            texts = [str(t).strip() for t in turns or [] if t is not None]
            pairs += [(a, b) for a, b in itertools.pairwise(texts) if a and b]
    return pairs


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, prompt: str, response: str, system: str | None, limit: int
) -> dict[str, list[int]]:
    """Chat-template one exchange; labels are -100 on the prompt (and template) tokens."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    head = token_ids(
        tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    )
    messages.append({"role": "assistant", "content": response})
    full = token_ids(tokenizer.apply_chat_template(messages, tokenize=True))
    if full[: len(head)] != head:
        raise ValueError("the chat template does not render the prompt as a prefix of the chat")
    full = full[:limit]
    labels = [IGNORE] * min(len(head), len(full)) + full[len(head) :]
    return {"input_ids": full, "labels": labels}


def token_ids(rendered: Any) -> list[int]:
    """Token ids from ``apply_chat_template`` (a list, or a dict in newer transformers)."""
    if isinstance(rendered, Mapping):
        rendered = rendered["input_ids"]
    return [int(i) for i in rendered]


def pack(examples: list[dict[str, list[int]]], width: int) -> list[list[dict[str, list[int]]]]:
    """Group examples into rows of at most ``width`` tokens, first fit in the given order."""
    rows: list[list[dict[str, list[int]]]] = []
    free: list[int] = []
    for example in examples:
        size = len(example["input_ids"])
        slot = next((i for i, room in enumerate(free) if room >= size), None)
        if slot is None:
            rows.append([example])
            free.append(width - size)
        else:
            rows[slot].append(example)
            free[slot] -= size
    return rows


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


class ChatDataModule(SplitLoaders, L.LightningDataModule):
    """Instruction/response pairs from chatterbot YAML, or csv/jsonl columns, for SFT.

    Deduplicated, shuffled with ``split_seed`` and split like the classification data; each
    pair is rendered with the tokenizer's chat template and only response tokens carry loss.
    """

    def __init__(
        self,
        path: str | None = None,
        artifact: Mapping[str, str] | None = None,
        prompt_column: str = "prompt",
        response_column: str = "response",
        system_prompt: str | None = None,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        split_seed: int = 1234,
        max_samples: int | None = None,
        max_length: int = 256,
        packing: bool = False,
        batch_size: int = 8,
        eval_batch_size: int = 16,
        num_workers: int = 0,
        pin_memory: bool = False,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__()
        self.path, self.artifact = path, artifact
        self.prompt_column, self.response_column = prompt_column, response_column
        self.system_prompt = system_prompt
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.split_seed, self.max_samples, self.max_length = split_seed, max_samples, max_length
        self.packing = packing
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.tokenizer = tokenizer
        self.splits: dict[str, list[Pair]] = {}
        self.encoded: dict[str, list[Any]] = {}

    def problems(self) -> list[str]:
        """Validate settings and the source without tokenizing."""
        issues = []
        if (self.path is None) == (self.artifact is None):
            issues.append("data: set exactly one of data.path, data.artifact")
        if not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1):
            issues.append("data.val_fraction and data.test_fraction must be in [0, 1)")
        for key in ("max_length", "batch_size", "eval_batch_size"):
            if getattr(self, key) <= 0:
                issues.append(f"data.{key} must be > 0, got {getattr(self, key)}")
        if self.path is not None and not self._is_yaml(Path(str(self.path))):
            files = split_files(self.path, None)
            issues += column_problems(files, [self.prompt_column, self.response_column])
        return issues

    @staticmethod
    def _is_yaml(path: Path) -> bool:
        return path.is_dir() or path.suffix in (".yml", ".yaml")

    def objective_kwargs(self) -> dict[str, Any]:
        """Nothing: labels are token ids."""
        return {}

    def load(self) -> None:
        """Read and split the pairs (no tokenizer needed)."""
        if self.splits:
            return
        source = Path(str(self.path)) if self.path else split_files(None, self.artifact)["all"]
        if self._is_yaml(source):
            pairs = read_conversations(source)
        else:
            pairs = [
                (str(r[self.prompt_column]), str(r[self.response_column]))
                for rows in load_rows({"all": source}).values()
                for _, r in rows
            ]
        pairs = list(dict.fromkeys(pairs))
        random.Random(self.split_seed).shuffle(pairs)
        n_val, n_test = (
            round(len(pairs) * self.val_fraction),
            round(len(pairs) * self.test_fraction),
        )
        self.splits = {
            "val": pairs[:n_val],
            "test": pairs[n_val : n_val + n_test],
            "train": pairs[n_val + n_test :],
        }
        if self.max_samples:
            self.splits = {k: v[: self.max_samples] for k, v in self.splits.items()}
        for name, split in self.splits.items():
            if not split:
                raise DataError(source, f"the {name} split is empty", fix="add pairs or fractions")

    def setup(self, stage: str | None = None) -> None:
        """Tokenize every split once (and pack the training split when asked)."""
        self.load()
        if self.encoded:
            return
        if self.tokenizer is None:
            raise RuntimeError("ChatDataModule needs a tokenizer")
        for name, pairs in self.splits.items():
            examples = [
                encode_pair(self.tokenizer, p, r, self.system_prompt, self.max_length)
                for p, r in pairs
            ]
            self.encoded[name] = pack(examples, self.max_length) if self.packing else examples

    def _loader(self, split: str, batch_size: int, train: bool) -> DataLoader[Any]:
        assert self.tokenizer is not None
        pad = self.tokenizer.pad_token_id
        return split_loader(
            self.encoded[split],
            train=train,
            seed=self.split_seed,
            batch_size=batch_size,
            shuffle=train,
            collate_fn=ChatCollator(pad if pad is not None else 0, self.packing),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )
