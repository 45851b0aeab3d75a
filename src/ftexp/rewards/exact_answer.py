"""A verifiable reward: the reply's last number against the example's known answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def final_number(text: str) -> str | None:
    """The last number written in ``text`` (thousands commas dropped), or None."""
    found = NUMBER.findall(text)
    return found[-1].replace(",", "").rstrip(".") if found else None


@dataclass
class ExactAnswer:
    """1 when the last number of a completion equals the example's known answer, else 0.

    A verifiable reward: the answer is a field of each prompt (``data=arithmetic``'s
    ``answer``), compared as a number (``42``, ``42.0`` and ``42,000`` read as numbers).
    """

    field: str = "answer"

    @property
    def fields(self) -> list[str]:
        """The example field this reward reads."""
        return [self.field]

    def __call__(
        self, prompts: list[str], completions: list[str], **fields: Sequence[object]
    ) -> list[float]:
        """Score the completions against their answers."""
        answers = fields[self.field]
        return [
            float(_same_number(final_number(c), str(a)))
            for c, a in zip(completions, answers, strict=True)
        ]


def _same_number(given: str | None, answer: str) -> bool:
    if given is None:
        return False
    try:
        return float(given) == float(answer.replace(",", ""))
    except ValueError:
        return given == answer
