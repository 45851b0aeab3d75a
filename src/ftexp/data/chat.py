"""Conversations for causal-LM SFT: chat template, loss on assistant turns, optional packing."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from ftexp.batch import IGNORE, token_ids
from ftexp.data.base import Collate, FinetuneData, TokenLimited
from ftexp.data.conversations import (
    ASSISTANT,
    SYSTEM,
    USER,
    BadRecords,
    ChatFormat,
    Conversation,
    checked,
    read_conversations_of,
)
from ftexp.data.sources import (
    column_problems,
    load_hub,
    load_rows,
    source_choice_problem,
    split_files,
)
from ftexp.errors import DataError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

Pair = tuple[str, str]
Span = tuple[int, int]  # [start, end) tokens of one assistant turn
Fitted = tuple[list[int], list[Span], str | None]


def read_chatterbot(path: Path) -> list[list[str]]:
    """The threads of chatterbot-corpus YAML (a file or a folder of them): lists of turns."""
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise DataError(path, "no .yml files", fix="point data.path at chatterbot-style YAML")
    threads = []
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
            threads.append([str(t).strip() for t in turns or [] if t is not None])
    return threads


def read_conversations(path: Path) -> list[Pair]:
    """Chatterbot-corpus YAML as (prompt, reply) pairs: every turn of a thread and the next."""
    return [
        (a, b) for texts in read_chatterbot(path) for a, b in itertools.pairwise(texts) if a and b
    ]


def thread_conversations(path: Path, system: str | None) -> list[Conversation]:
    """Chatterbot threads as multi-turn conversations: turns alternate user and assistant.

    A thread's trailing user turn (nothing answers it) is left out, and so are threads of a
    single turn or with an empty one.
    """
    head = ((SYSTEM, system),) if system else ()
    out = []
    for texts in read_chatterbot(path):
        texts = texts[: len(texts) - len(texts) % 2]
        if texts and all(texts):
            roles = itertools.cycle((USER, ASSISTANT))
            out.append(checked((*head, *zip(roles, texts, strict=False))))
    return out


def render_turns(
    tokenizer: PreTrainedTokenizerBase, conversation: Conversation
) -> tuple[list[int], list[Span]]:
    """A conversation's token ids and the ``[start, end)`` token span of each assistant turn.

    Each span is where the chat template's rendering of the turns before a reply (with the
    generation prompt) ends and the rendering with that reply ends: the reply and the template's
    end-of-turn token, which the model must learn to emit.
    """
    messages = [{"role": role, "content": content} for role, content in conversation]
    full = token_ids(tokenizer.apply_chat_template(messages, tokenize=True))
    spans = []
    for index, (role, _) in enumerate(conversation):
        if role != ASSISTANT:
            continue
        head = token_ids(
            tokenizer.apply_chat_template(
                messages[:index], add_generation_prompt=True, tokenize=True
            )
        )
        upto = token_ids(tokenizer.apply_chat_template(messages[: index + 1], tokenize=True))
        if upto[: len(head)] != head or full[: len(upto)] != upto:
            raise ValueError(
                "the chat template does not render a conversation's turns as prefixes of it"
            )
        spans.append((len(head), len(upto)))
    return full, spans


def labelled(ids: list[int], spans: list[Span]) -> dict[str, list[int]]:
    """``input_ids`` and ``labels`` that carry loss inside ``spans`` only."""
    labels = [IGNORE] * len(ids)
    for start, end in spans:
        labels[start:end] = ids[start:end]
    return {"input_ids": ids, "labels": labels}


def fit_whole_turns(ids: list[int], spans: list[Span], limit: int) -> Fitted:
    """Cut a rendered conversation to ``limit`` tokens, at the end of a reply where one fits.

    Returns the ids, the spans that carry loss, and what the cut cost: ``"cut_turns"`` (the
    turns after the last whole reply that fits were left out), ``"cut_mid_turn"`` (not even
    the first reply fits: it is cut at the limit) or ``"no_reply_left"`` (nothing to learn
    from remains; the example is left out).
    """
    if len(ids) <= limit:
        return ids, spans, None
    whole = [span for span in spans if span[1] <= limit]
    if whole:
        return ids[: whole[-1][1]], whole, "cut_turns"
    first = next((span for span in spans if span[0] < limit), None)
    if first is None:
        return ids[:limit], [], "no_reply_left"
    return ids[:limit], [(first[0], limit)], "cut_mid_turn"


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


class TrainOn(StrEnum):
    """Which assistant turns of a conversation carry loss (``data.train_on``)."""

    ALL_ASSISTANT = "all_assistant"
    LAST_ASSISTANT = "last_assistant"


# named chat templates for tokenizers that ship none (``data.chat_template=chatml``)
CHAT_TEMPLATES = {
    "chatml": (
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    ),
}


@dataclass
class ChatData(TokenLimited, FinetuneData):
    """Conversations for SFT from chatterbot YAML, or from records in any common shape.

    Records in messages / ShareGPT / Alpaca / two-column form come from json, jsonl, csv or
    parquet files (one, or one per split) or a hub dataset. Each conversation is rendered
    with the tokenizer's chat template; only assistant turns carry loss (``train_on``);
    ``packing`` lays several into one ``max_length`` row.

    Attributes:
        format: the records' shape (``auto``: detected per file from its first record).
        prompt_column / response_column: the columns of the two-column form.
        system_prompt: a system message for conversations that have none.
        train_on: loss on every assistant turn, or on the last one only.
        chat_template: a template for a tokenizer that has none: a name (``chatml``) or Jinja.
        bad_records: a malformed record stops the run (``refuse``) or is counted and skipped.
        threads: chatterbot YAML as one multi-turn conversation per thread (``false``: each
            turn and the next as one exchange).
        max_length: tokens per example; a longer one is cut after the last whole reply that
            fits (counted as ``data/dropped_cut_turns``).
        packing: pack examples into rows; attention never crosses examples.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"input_ids", "labels", "prompt"})

    path: Any = None
    artifact: dict[str, str] | None = None
    hub_id: str | None = None
    hub_config: str | None = None
    format: str = ChatFormat.AUTO.value
    prompt_column: str = "prompt"
    response_column: str = "response"
    system_prompt: str | None = None
    train_on: str = TrainOn.ALL_ASSISTANT.value
    chat_template: str | None = None
    bad_records: str = BadRecords.REFUSE.value
    threads: bool = False
    max_length: int = 256
    packing: bool = False
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    batch_size: int = 8
    eval_batch_size: int = 16

    def source_problems(self) -> list[str]:
        """Validate the source and the choices without reading the records."""
        issues = []
        choice = source_choice_problem(path=self.path, artifact=self.artifact, hub_id=self.hub_id)
        if choice:
            issues.append(choice)
        if self.max_length <= 0:
            issues.append(f"data.max_length must be > 0, got {self.max_length}")
        for key, kind in (
            ("format", ChatFormat),
            ("train_on", TrainOn),
            ("bad_records", BadRecords),
        ):
            value = getattr(self, key)
            if value not in {choice.value for choice in kind}:
                options = ", ".join(choice.value for choice in kind)
                issues.append(f"data.{key}={value!r} is not one of {options}")
        if self.path is not None and not self._is_chatterbot():
            issues += self._column_problems()
        return issues

    def _column_problems(self) -> list[str]:
        files = split_files(self.path, self.artifact)
        fmt = ChatFormat(self.format) if self.format in set(ChatFormat) else ChatFormat.AUTO
        if fmt is ChatFormat.AUTO:
            return [p for p in column_problems(files, []) if p]  # the files exist
        return column_problems(files, list(self._format_columns(fmt)))

    def _format_columns(self, fmt: ChatFormat) -> tuple[str, ...]:
        return {
            ChatFormat.MESSAGES: ("messages",),
            ChatFormat.SHAREGPT: ("conversations",),
            ChatFormat.ALPACA: ("instruction", "output"),
        }.get(fmt, (self.prompt_column, self.response_column))

    def _is_chatterbot(self) -> bool:
        return (
            self.path is not None
            and not isinstance(self.path, Mapping)
            and _is_yaml(Path(str(self.path)))
        )

    def _source(self) -> Path:
        return Path(str(self.path)) if self.path else split_files(None, self.artifact)["all"]

    def origin(self) -> str:
        """The file, folder or hub dataset the conversations come from."""
        if self.hub_id:
            return self.hub_id
        return str(self.path) if isinstance(self.path, Mapping) else str(self._source())

    def connect(self, processor: Any) -> None:
        """Take the tokenizer; it must have a chat template (its own or ``data.chat_template``)."""
        if self.chat_template:
            processor.chat_template = CHAT_TEMPLATES.get(self.chat_template, self.chat_template)
        if not getattr(processor, "chat_template", None):
            raise DataError(
                self.origin(),
                "the tokenizer has no chat template to render conversations with",
                fix="set data.chat_template=chatml (or a Jinja template string)",
            )
        super().connect(processor)

    def read(self) -> dict[str, list[Conversation]]:
        """Every conversation, by split where the source has splits."""
        system = self.system_prompt
        if (self.path is None and self.artifact is not None) or self._is_chatterbot():
            if self.threads:
                return {"all": thread_conversations(self._source(), system)}
            pairs = read_conversations(self._source())
            turns = [(SYSTEM, system)] if system else []
            return {"all": [checked((*turns, (USER, a), (ASSISTANT, b))) for a, b in pairs]}
        if self.hub_id:
            source, where = load_hub(self.hub_id, self.hub_config), self.hub_id
        else:
            source, where = load_rows(split_files(self.path, self.artifact)), ""
        columns = (self.prompt_column, self.response_column)
        out = {}
        for split, rows in source.items():
            path = Path(where) if where else split_files(self.path, self.artifact)[split]
            out[split], skipped = read_conversations_of(
                rows, path, ChatFormat(self.format), columns, system, BadRecords(self.bad_records)
            )
            self._count("bad_records", skipped)
        return out

    def prompt_of(self, example: Conversation) -> list[dict[str, str]]:
        """The conversation before its last reply, as chat messages (RL and UPFT prompts)."""
        return [{"role": role, "content": text} for role, text in example[:-1]]

    def encode_split(self, examples: list[Conversation]) -> list[dict[str, list[int]]]:
        """Render each conversation; one with no reply left after the cut is left out."""
        encoded = (self.encode(x) for x in examples)
        return [x for x in encoded if x is not None]

    def encode(self, example: Conversation) -> dict[str, list[int]] | None:
        """Chat-template a conversation, loss on its assistant turns (``None``: nothing left)."""
        ids, spans = render_turns(self.processor, example)
        ids, spans, cut = fit_whole_turns(ids, spans, self.max_length)
        if cut is not None:
            self._count(cut, 1)
        if not spans:
            return None
        if self.train_on == TrainOn.LAST_ASSISTANT:
            spans = spans[-1:]
        return labelled(ids, spans)

    def _count(self, what: str, n: int) -> None:
        if n:
            self.dropped[what] = self.dropped.get(what, 0) + n

    def finish_train(self, encoded: list[Any]) -> list[Any]:
        """Pack the training examples into rows when ``packing``."""
        return pack(encoded, self.max_length) if self.packing else encoded

    def length(self, encoded: Any) -> int:
        """Tokens of an example (or of a packed row)."""
        rows = encoded if isinstance(encoded, list) else [encoded]
        return sum(len(doc["input_ids"]) for doc in rows)

    def collator(self, train: bool) -> Collate:
        """Padding, or packed rows with restarting positions (training split only)."""
        from ftexp.data.collate import ChatCollator

        return ChatCollator(self.pad_id, self.packing and train)


def _is_yaml(path: Path) -> bool:
    return path.is_dir() or path.suffix in (".yml", ".yaml")
