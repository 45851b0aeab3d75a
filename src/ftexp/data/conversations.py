"""Conversations in the shapes users bring: ``messages``, ShareGPT, Alpaca, two columns.

One record becomes one ``Conversation``: a tuple of ``(role, content)`` turns with the roles
``system`` (first turn only), ``user`` and ``assistant`` alternating, ending on an assistant
turn. A record that breaks this is refused at its file and line (or, with
``bad_records=skip``, left out and counted). Light: no tokenizer, no torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ftexp.data.readers import Row
from ftexp.errors import DataError

Turn = tuple[str, str]  # (role, content)
Conversation = tuple[Turn, ...]

SYSTEM, USER, ASSISTANT = "system", "user", "assistant"
# ShareGPT's speaker names (and the ones users write by hand) -> the chat template's roles
SHAREGPT_ROLES = {
    "system": SYSTEM,
    "human": USER,
    "user": USER,
    "gpt": ASSISTANT,
    "assistant": ASSISTANT,
    "bot": ASSISTANT,
}


class ChatFormat(StrEnum):
    """How a record holds its conversation (``data.format``)."""

    AUTO = "auto"  # detected per file from its first record
    MESSAGES = "messages"  # {"messages": [{"role": ..., "content": ...}, ...]}
    SHAREGPT = "sharegpt"  # {"conversations": [{"from": ..., "value": ...}, ...]}
    ALPACA = "alpaca"  # {"instruction": ..., "input": ..., "output": ..., "system"?: ...}
    COLUMNS = "columns"  # data.prompt_column / data.response_column


class BadRecords(StrEnum):
    """What a malformed conversation record does (``data.bad_records``)."""

    REFUSE = "refuse"  # the run stops before training, naming the file and line
    SKIP = "skip"  # the record is left out and counted (``data/dropped_bad_records``)


class RecordProblem(ValueError):
    """One record cannot be a conversation; the message says why."""


def detect_format(record: Mapping[str, Any], columns: tuple[str, str]) -> ChatFormat | None:
    """The format a record is in, from the keys it has (``None``: none of them)."""
    if "messages" in record:
        return ChatFormat.MESSAGES
    if "conversations" in record:
        return ChatFormat.SHAREGPT
    if "instruction" in record and "output" in record:
        return ChatFormat.ALPACA
    if all(column in record for column in columns):
        return ChatFormat.COLUMNS
    return None


def conversation_of(
    record: Mapping[str, Any], fmt: ChatFormat, columns: tuple[str, str], system: str | None
) -> Conversation:
    """The conversation a record holds, checked; ``system`` is added where it has none."""
    if fmt is ChatFormat.MESSAGES:
        roles = {SYSTEM: SYSTEM, USER: USER, ASSISTANT: ASSISTANT}
        turns = [_turn(m, "role", "content", roles) for m in _turn_list(record, "messages")]
    elif fmt is ChatFormat.SHAREGPT:
        listed = _turn_list(record, "conversations")
        turns = [_turn(m, "from", "value", SHAREGPT_ROLES) for m in listed]
    elif fmt is ChatFormat.ALPACA:
        instruction, extra = _text(record.get("instruction")), _text(record.get("input"))
        prompt = f"{instruction}\n\n{extra}" if instruction and extra else instruction or extra
        turns = [(USER, prompt), (ASSISTANT, _text(record.get("output")))]
        if _text(record.get("system")):
            turns.insert(0, (SYSTEM, _text(record.get("system"))))
    else:
        prompt, response = columns
        turns = [(USER, _text(record.get(prompt))), (ASSISTANT, _text(record.get(response)))]
    if system and (not turns or turns[0][0] != SYSTEM):
        turns.insert(0, (SYSTEM, system))
    return checked(turns)


def checked(turns: Iterable[Turn]) -> Conversation:
    """The turns as a conversation, if their roles are in order and no reply is empty."""
    conversation = tuple(turns)
    body = conversation[1:] if conversation and conversation[0][0] == SYSTEM else conversation
    if not body:
        raise RecordProblem("it has no user or assistant turn")
    offset = len(conversation) - len(body)  # turn numbers count the system turn
    for index, (role, content) in enumerate(body):
        expected = USER if index % 2 == 0 else ASSISTANT
        if role != expected:
            where = "a system turn after the first turn" if role == SYSTEM else f"a {role} turn"
            raise RecordProblem(
                f"turn {index + 1 + offset} is {where} where a {expected} turn belongs (roles "
                "must alternate user/assistant after an optional first system turn)"
            )
        if role == ASSISTANT and not content.strip():
            raise RecordProblem(f"turn {index + 1 + offset} is an empty assistant turn")
    if body[-1][0] != ASSISTANT:
        raise RecordProblem("it ends on a user turn (nothing to learn from)")
    return conversation


def read_conversations_of(
    rows: list[Row],
    path: Path,
    fmt: ChatFormat,
    columns: tuple[str, str],
    system: str | None,
    bad: BadRecords,
) -> tuple[list[Conversation], int]:
    """Every conversation of one file's rows, and how many bad records were skipped."""
    if fmt is ChatFormat.AUTO and rows:
        line, first = rows[0]
        found = detect_format(first, columns)
        if found is None:
            raise DataError(
                path,
                f"cannot tell the conversation format of the first record (keys: {sorted(first)})",
                line=line,
                fix="use messages, ShareGPT (conversations), Alpaca (instruction/output) or "
                "set data.prompt_column / data.response_column; or set data.format",
            )
        fmt = found
    conversations, skipped = [], 0
    for line, record in rows:
        try:
            conversations.append(conversation_of(record, fmt, columns, system))
        except RecordProblem as problem:
            if bad is BadRecords.SKIP:
                skipped += 1
                continue
            raise DataError(
                path,
                f"not a {fmt.value} conversation: {problem}",
                line=line,
                fix="fix the record, or set data.bad_records=skip to leave such records out",
            ) from None
    return conversations, skipped


def _turn_list(record: Mapping[str, Any], key: str) -> list[Any]:
    turns = record.get(key)
    if isinstance(turns, str):  # a column holding JSON (csv, some parquet exports)
        try:
            turns = json.loads(turns)
        except json.JSONDecodeError:
            raise RecordProblem(f"{key!r} is a string that is not a JSON list") from None
    if not isinstance(turns, list):
        raise RecordProblem(f"{key!r} is not a list of turns")
    return turns


def _turn(item: Any, role_key: str, text_key: str, roles: Mapping[str, str]) -> Turn:
    if not isinstance(item, Mapping) or role_key not in item:
        raise RecordProblem(f"a turn is not an object with {role_key!r} and {text_key!r}")
    name = str(item[role_key]).strip().lower()
    if name not in roles:
        raise RecordProblem(f"unknown role {item[role_key]!r} (known: {', '.join(sorted(roles))})")
    return roles[name], _text(item.get(text_key))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


Preference = tuple[Conversation, str, str]  # (the turns before the replies, chosen, rejected)


def preference_of(record: Mapping[str, Any]) -> Preference:
    """A preference record in TRL's shapes as (prompt turns, chosen reply, rejected reply).

    Explicit prompt: ``prompt`` (a text or messages) with ``chosen`` / ``rejected`` (a text or
    one assistant message each). Implicit prompt: ``chosen`` and ``rejected`` are whole
    conversations; the turns they share are the prompt, and each must end in one reply.
    """
    if "prompt" in record:
        prompt = _turns_of(record["prompt"], USER, "prompt")
        chosen = _turns_of(record.get("chosen"), ASSISTANT, "chosen")
        rejected = _turns_of(record.get("rejected"), ASSISTANT, "rejected")
    else:
        whole_chosen = _turns_of(record.get("chosen"), ASSISTANT, "chosen")
        whole_rejected = _turns_of(record.get("rejected"), ASSISTANT, "rejected")
        shared = 0
        limit = min(len(whole_chosen), len(whole_rejected)) - 1
        while shared < limit and whole_chosen[shared] == whole_rejected[shared]:
            shared += 1
        prompt = whole_chosen[:shared]
        chosen, rejected = whole_chosen[shared:], whole_rejected[shared:]
        if not prompt:
            raise RecordProblem(
                "it has no 'prompt' and its chosen and rejected conversations share no turn"
            )
    replies = []
    for name, turns in (("chosen", chosen), ("rejected", rejected)):
        if len(turns) != 1 or turns[0][0] != ASSISTANT:
            raise RecordProblem(f"its {name} side is not one assistant reply after the prompt")
        checked((*prompt, turns[0]))
        replies.append(turns[0][1])
    return prompt, replies[0], replies[1]


Judged = tuple[Conversation, str, bool]  # (the turns before the reply, the reply, desirable)

TRUE_LABELS = frozenset({"true", "1", "yes", "desirable", "good"})
FALSE_LABELS = frozenset({"false", "0", "no", "undesirable", "bad"})


def judged_of(record: Mapping[str, Any]) -> Judged:
    """An unpaired preference record in TRL's shape as (prompt turns, reply, desirable).

    Explicit prompt: ``prompt`` (a text or messages) with ``completion`` (a text or one
    assistant message) and ``label``. Implicit prompt: ``completion`` is a whole conversation
    and its last turn is the reply. ``label``: true / false (also 1 / 0, or such a text).
    """
    if "prompt" in record:
        prompt = _turns_of(record["prompt"], USER, "prompt")
        reply = _turns_of(record.get("completion"), ASSISTANT, "completion")
    else:
        whole = _turns_of(record.get("completion"), ASSISTANT, "completion")
        prompt, reply = whole[:-1], whole[-1:]
        if not prompt:
            raise RecordProblem("it has no 'prompt' and its completion is a single turn")
    if len(reply) != 1 or reply[0][0] != ASSISTANT:
        raise RecordProblem("its completion is not one assistant reply after the prompt")
    checked((*prompt, reply[0]))
    return prompt, reply[0][1], _desirable(record.get("label"))


def _desirable(label: Any) -> bool:
    """A record's ``label`` as a bool: true means a desirable reply."""
    if isinstance(label, bool):
        return label
    text = str(label).strip().lower()
    if isinstance(label, int | float) and label in (0, 1):
        return bool(label)
    if text in TRUE_LABELS | FALSE_LABELS:
        return text in TRUE_LABELS
    raise RecordProblem(f"its label {label!r} is not true or false")


def _turns_of(value: Any, role: str, key: str) -> Conversation:
    """A text as one turn of ``role``, or a messages list as its turns."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):  # a JSON list inside a csv cell
            return _turns_of(_turn_list({key: value}, key), role, key)
        return ((role, value.strip()),)
    if isinstance(value, list):
        roles = {SYSTEM: SYSTEM, USER: USER, ASSISTANT: ASSISTANT}
        return tuple(_turn(m, "role", "content", roles) for m in value)
    raise RecordProblem(f"{key!r} is neither a text nor a list of messages")


@dataclass(frozen=True)
class Asked:
    """A prompt and the fields of its example that a reward reads (e.g. a known answer)."""

    prompt: str
    fields: tuple[tuple[str, str], ...] = ()
