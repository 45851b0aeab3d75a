"""A toy reward for tests: the share of one character in a reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class CharacterReward:
    """Share of non-space characters equal to ``character``: a toy reward for tests."""

    character: str = "e"

    def problems(self) -> list[str]:
        """A single character is required."""
        return [] if len(self.character) == 1 else ["objective.reward.character must be 1 char"]

    def __call__(
        self, prompts: list[str], completions: list[str], **fields: Sequence[object]
    ) -> list[float]:
        """Score the completions."""
        scores = []
        for text in completions:
            chars = [c for c in text if not c.isspace()]
            scores.append(sum(c == self.character for c in chars) / max(1, len(chars)))
        return scores
