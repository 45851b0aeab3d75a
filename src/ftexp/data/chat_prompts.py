"""Conversations as prompts for on-policy RL: each one up to the reply the policy will write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.data.base import Collate
from ftexp.data.chat import ChatData
from ftexp.data.conversations import Conversation


@dataclass
class ChatPromptData(ChatData):
    """The conversations of ``data=chat`` (any record shape) with their last reply left out.

    Each becomes the chat messages before that reply (system, user and earlier assistant
    turns), chat-templated with the generation prompt and left-padded: the policy samples the
    reply, the rewards score it. Batches hold ``prompt_input_ids``, ``prompt_attention_mask``
    and ``prompt_text`` (the last user turn), as ``data=review_prompts`` does.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"prompt_input_ids", "prompt_attention_mask"})

    def source_problems(self) -> list[str]:
        """The conversation source's problems; packing has no meaning for prompts."""
        issues = super().source_problems()
        if self.packing:
            issues.append("data.packing applies to SFT rows, not to RL prompts: set it false")
        return issues

    def encode_split(self, examples: list[Conversation]) -> list[Any]:
        """Each conversation's messages before its last reply."""
        return [self.prompt_of(x) for x in examples]

    def length(self, encoded: Any) -> int:
        """Characters of the prompt's messages (a stand-in for tokens, for length grouping)."""
        return sum(len(message["content"]) for message in encoded)

    def collator(self, train: bool) -> Collate:
        """Chat-template with the generation prompt and left-pad (tokenized per batch)."""
        from ftexp.data.collate import PromptCollator

        return PromptCollator(self.processor)
