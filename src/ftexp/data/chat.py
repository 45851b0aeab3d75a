"""Prompt/response pairs for causal-LM SFT: chat template, response-only loss, optional packing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from ftexp.batch import IGNORE, token_ids
from ftexp.data.base import FinetuneData
from ftexp.data.sources import column_problems, load_rows, split_files
from ftexp.errors import DataError

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
    tokenizer: Any, prompt: str, response: str, system: str | None, limit: int
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


@dataclass
class ChatData(FinetuneData):
    """Instruction/response pairs from chatterbot YAML, or csv/jsonl columns, for SFT.

    Each pair is rendered with the tokenizer's chat template and only response tokens carry
    loss; ``packing`` lays several pairs into one ``max_length`` row.

    Attributes:
        prompt_column / response_column: columns of a csv/jsonl source.
        system_prompt: an optional system message before every exchange.
        max_length: tokens per example (per packed row when packing).
        packing: pack examples into rows; attention never crosses examples.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"input_ids", "labels", "prompt"})

    path: str | None = None
    artifact: dict[str, str] | None = None
    prompt_column: str = "prompt"
    response_column: str = "response"
    system_prompt: str | None = None
    max_length: int = 256
    packing: bool = False
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    batch_size: int = 8
    eval_batch_size: int = 16

    def source_problems(self) -> list[str]:
        """Validate the source without tokenizing."""
        issues = []
        if (self.path is None) == (self.artifact is None):
            issues.append("data: set exactly one of data.path, data.artifact")
        if self.max_length <= 0:
            issues.append(f"data.max_length must be > 0, got {self.max_length}")
        if self.path is not None and not _is_yaml(Path(str(self.path))):
            files = split_files(self.path, None)
            issues += column_problems(files, [self.prompt_column, self.response_column])
        return issues

    def _source(self) -> Path:
        return Path(str(self.path)) if self.path else split_files(None, self.artifact)["all"]

    def origin(self) -> str:
        """The file or folder the pairs come from."""
        return str(self._source())

    def read(self) -> dict[str, list[Pair]]:
        """Every (prompt, response) pair."""
        source = self._source()
        if _is_yaml(source):
            return {"all": read_conversations(source)}
        pairs = [
            (str(r[self.prompt_column]), str(r[self.response_column]))
            for rows in load_rows({"all": source}).values()
            for _, r in rows
        ]
        return {"all": pairs}

    def encode(self, example: Pair) -> dict[str, list[int]]:
        """Chat-template one exchange, loss on the response only."""
        prompt, response = example
        return encode_pair(self.processor, prompt, response, self.system_prompt, self.max_length)

    def finish_train(self, encoded: list[Any]) -> list[Any]:
        """Pack the training examples into rows when ``packing``."""
        return pack(encoded, self.max_length) if self.packing else encoded

    def length(self, encoded: Any) -> int:
        """Tokens of an example (or of a packed row)."""
        rows = encoded if isinstance(encoded, list) else [encoded]
        return sum(len(doc["input_ids"]) for doc in rows)

    def collator(self, train: bool) -> Any:
        """Padding, or packed rows with restarting positions (training split only)."""
        from ftexp.data.collate import ChatCollator

        pad = self.processor.pad_token_id
        return ChatCollator(pad if pad is not None else 0, self.packing and train)


def _is_yaml(path: Path) -> bool:
    return path.is_dir() or path.suffix in (".yml", ".yaml")
