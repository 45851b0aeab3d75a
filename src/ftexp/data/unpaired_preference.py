"""Unpaired preference data (prompt, reply, desirable or not) for KTO.

The shape of TRL's unpaired preference sets: each record is one reply judged on its own, with no
partner to compare it with; thumbs-up / thumbs-down logs look like this. Offline, the records
are built from the same labelled reviews as ``data=preference``: each review answers one of the
prompts, drawn from the split seed, and is desirable when its label is the one that prompt asks
for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.data.base import Collate
from ftexp.data.conversations import USER, Conversation, Judged, judged_of
from ftexp.data.preference import PromptedReplies

UNPAIRED_FIELDS = frozenset({"input_ids", "attention_mask", "labels", "desirable"})


@dataclass
class UnpairedPreferenceData(PromptedReplies):
    """Replies judged one by one; batches hold them right-padded, with a ``desirable`` flag.

    Batch fields: ``input_ids``, ``attention_mask``, ``labels`` (-100 on the prompt) and
    ``desirable`` (bool per row). Own records (``data.prompts=null``): ``prompt`` +
    ``completion`` + ``label`` (true: desirable), or an implicit prompt (``completion`` a whole
    conversation ending in the judged reply).
    """

    provides: ClassVar[frozenset[str]] = UNPAIRED_FIELDS
    record_columns: ClassVar[tuple[str, ...]] = ("completion", "label")
    record_kind: ClassVar[str] = "an unpaired preference record"
    record_fix: ClassVar[str] = (
        "give prompt + completion + label (true or false), or a completion conversation "
        "ending in the judged reply + label"
    )

    def parse_record(self, record: dict[str, Any]) -> Judged:
        """A record in TRL's unpaired shape as (prompt turns, reply, desirable)."""
        return judged_of(record)

    def from_labels(self, rows: list[dict[str, Any]], prompts: dict[str, str]) -> list[Judged]:
        """Each labelled text as the reply to a drawn prompt; desirable if the labels agree."""
        rng = random.Random(self.split_seed)
        asked: dict[str, Conversation] = {
            label: ((USER, prompt),) for label, prompt in sorted(prompts.items())
        }
        labels = sorted(asked)
        judged = []
        for row in rows:
            label, text = str(row.get(self.label_column)), row.get(self.text_column)
            if label in asked and isinstance(text, str) and text.strip():
                wanted = rng.choice(labels)
                judged.append((asked[wanted], text.strip(), label == wanted))
        return judged

    def encode(self, example: Judged) -> dict[str, Any]:
        """Tokenize the prompt and reply; labels only on the reply."""
        prompt, reply, desirable = example
        return {**self.encode_reply(prompt, reply), "desirable": desirable}

    def collator(self, train: bool) -> Collate:
        """Replies right-padded to one width, with their flags."""
        from ftexp.data.collate import JudgedCollator

        return JudgedCollator(self.pad_id)
