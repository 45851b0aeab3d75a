"""Preference pairs (prompt, chosen, rejected) for reward modelling, DPO and its family.

No real chosen/rejected dataset ships offline, so pairs are built from labelled real text: for
"Write a positive movie review." a fresh review is chosen over a rotten one (and the reverse for
the negative prompt). Records of one's own come in TRL's shapes: an explicit ``prompt`` with
``chosen`` / ``rejected`` (texts or message lists), or an implicit prompt (``chosen`` and
``rejected`` conversations whose shared turns are the prompt).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.batch import IGNORE
from ftexp.data.base import Collate, FinetuneData, TokenLimited
from ftexp.data.chat import labelled, render_turns
from ftexp.data.conversations import (
    ASSISTANT,
    USER,
    Conversation,
    Preference,
    RecordProblem,
    preference_of,
)
from ftexp.data.sources import column_problems, load_rows, source_choice_problem, split_files
from ftexp.errors import DataError


@dataclass
class PromptedReplies(TokenLimited, FinetuneData):
    """Replies to prompts, scored on the reply only: what the preference data options share.

    Pairs come from the labelled rows of a file (``prompts`` maps a label to the prompt whose
    wanted reply has it), or from the records of one's own (``prompts: null``), whose columns
    the subclass names in ``record_columns``.

    Attributes:
        text_column / label_column: labelled rows to build the examples from (with ``prompts``).
        prompts: for each label, the prompt whose wanted response has that label; ``null``
            reads the records' own columns instead.
        max_length: tokens per prompt + response.
    """

    # the columns a file of one's own records needs (``prompts: null``)
    record_columns: ClassVar[tuple[str, ...]] = ()
    # what a record is called in a refusal, and how to write one
    record_kind: ClassVar[str] = "record"
    record_fix: ClassVar[str] = ""

    path: str | None = None
    artifact: dict[str, str] | None = None
    text_column: str = "text"
    label_column: str = "label"
    prompts: list[dict[str, str]] | dict[str, str] | None = None
    max_length: int = 128
    batch_size: int = 8
    eval_batch_size: int = 16

    def source_problems(self) -> list[str]:
        """Validate settings and the file's columns."""
        choice = source_choice_problem(path=self.path, artifact=self.artifact)
        if choice:
            return [choice]
        prompts = prompt_map(self.prompts)
        columns = [self.text_column, self.label_column] if prompts else list(self.record_columns)
        issues = column_problems(split_files(self.path, self.artifact), columns)
        if prompts and len(prompts) < 2:
            issues.append("data.prompts needs a prompt for at least two labels")
        return issues

    def origin(self) -> str:
        """The file the examples come from."""
        return ", ".join(map(str, split_files(self.path, self.artifact).values()))

    def read(self) -> dict[str, list[Any]]:
        """Examples built from labelled rows (``prompts``), or one's own records by split."""
        files = split_files(self.path, self.artifact)
        prompts = prompt_map(self.prompts)
        if prompts:
            rows = [r for rows in load_rows(files).values() for _, r in rows]
            return {"all": self.from_labels(rows, prompts)}
        return {
            split: [self._parsed(files[split], line, record) for line, record in rows]
            for split, rows in load_rows(files).items()
        }

    def from_labels(self, rows: list[dict[str, Any]], prompts: dict[str, str]) -> list[Any]:
        """Examples built from labelled rows and the prompt of each label."""
        raise NotImplementedError

    def parse_record(self, record: dict[str, Any]) -> Any:
        """One of one's own records as an example (raises ``RecordProblem``)."""
        raise NotImplementedError

    def _parsed(self, path: Any, line: int, record: dict[str, Any]) -> Any:
        """A record as an example, or a refusal at its file and line."""
        try:
            return self.parse_record(record)
        except RecordProblem as problem:
            raise DataError(
                path, f"not {self.record_kind}: {problem}", line=line, fix=self.record_fix
            ) from None

    def encode_reply(self, prompt: Conversation, response: str) -> dict[str, list[int]]:
        """``input_ids`` of the prompt and reply, ``labels`` on the reply's tokens only."""
        tokenizer, limit = self.processor, self.max_length
        if getattr(tokenizer, "chat_template", None):
            ids, spans = render_turns(tokenizer, (*prompt, (ASSISTANT, response)))
            return labelled(ids[:limit], [(min(a, limit), min(b, limit)) for a, b in spans[-1:]])
        text = "\n".join(content for _, content in prompt)  # e.g. a BERT reward model
        enc = tokenizer(text, response, truncation=True, max_length=limit)
        types = enc.get("token_type_ids") or [0] * len(enc["input_ids"])
        labels = [i if t == 1 else IGNORE for i, t in zip(enc["input_ids"], types, strict=True)]
        return {"input_ids": list(enc["input_ids"]), "labels": labels}


@dataclass
class PreferenceData(PromptedReplies):
    """Pairs of responses to one prompt, the first preferred; batches hold both, padded alike.

    Batch fields: ``{chosen,rejected}_{input_ids,attention_mask,labels}``; labels are -100 on
    the prompt, so DPO scores only response tokens. Tokenizers with a chat template render the
    exchange with it; others (e.g. a BERT reward model) encode ``(prompt, response)`` as a pair.
    """

    provides: ClassVar[frozenset[str]] = frozenset(
        f"{side}_{key}"
        for side in ("chosen", "rejected")
        for key in ("input_ids", "attention_mask", "labels")
    )
    record_columns: ClassVar[tuple[str, ...]] = ("chosen", "rejected")
    record_kind: ClassVar[str] = "a preference record"
    record_fix: ClassVar[str] = (
        "give prompt + chosen + rejected, or chosen and rejected conversations that share "
        "their prompt turns"
    )

    def parse_record(self, record: dict[str, Any]) -> Preference:
        """A record in TRL's explicit- or implicit-prompt shape as its triple."""
        return preference_of(record)

    def from_labels(self, rows: list[dict[str, Any]], prompts: dict[str, str]) -> list[Preference]:
        """Pair texts of the prompted label (chosen) with texts of another label (rejected)."""
        by_label: dict[str, list[str]] = {label: [] for label in prompts}
        for row in rows:
            label, text = str(row.get(self.label_column)), row.get(self.text_column)
            if label in by_label and isinstance(text, str) and text.strip():
                by_label[label].append(text.strip())
        rng = random.Random(self.split_seed)
        labels = sorted(by_label)
        for texts in by_label.values():
            rng.shuffle(texts)
        triples = []
        for i, (label, prompt) in enumerate(sorted(prompts.items())):
            other = labels[(i + 1) % len(labels)]
            half = [t for j, t in enumerate(by_label[label]) if j % len(labels) == i]
            rest = [t for j, t in enumerate(by_label[other]) if j % len(labels) == i]
            asked: Conversation = ((USER, prompt),)
            triples += [(asked, c, r) for c, r in zip(half, rest, strict=False)]
        return triples

    def encode(self, example: Preference) -> dict[str, list[int]]:
        """Tokenize both responses of a pair."""
        prompt, chosen, rejected = example
        out = {}
        for key, response in (("chosen", chosen), ("rejected", rejected)):
            pair = self.encode_reply(prompt, response)
            out[f"{key}_input_ids"], out[f"{key}_labels"] = pair["input_ids"], pair["labels"]
        return out

    def length(self, encoded: Any) -> int:
        """The longer response of the pair."""
        return max(len(encoded["chosen_input_ids"]), len(encoded["rejected_input_ids"]))

    def collator(self, train: bool) -> Collate:
        """Both responses right-padded to one width."""
        from ftexp.data.collate import PairCollator

        return PairCollator(self.pad_id)


def prompt_map(prompts: list[dict[str, str]] | dict[str, str] | None) -> dict[str, str]:
    """``[{label: fresh, prompt: ...}, ...]`` (or a plain mapping) as ``{label: prompt}``."""
    if prompts is None:
        return {}
    if isinstance(prompts, Mapping):
        return {str(k): str(v) for k, v in prompts.items()}
    return {str(p["label"]): str(p["prompt"]) for p in prompts}
