"""Reward functions for on-policy RL, called as TRL calls them.

A reward is any callable ``reward(prompts, completions, **fields) -> list[float]`` (or a
tensor): ``prompts`` and ``completions`` hold one entry per sampled reply (a prompt repeated
for each reply of its group), and each of the example's other fields (e.g. ``answer``) comes as
a keyword with one value per reply. ``objective.reward`` names one by ``_target_``, or several
by name with ``objective.reward_weights``. A reward may declare ``fields`` (the example fields it
reads, checked against the data before anything loads) and ``problems()`` (its own settings).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

RewardFunction = Callable[..., Any]
SINGLE = "reward"  # the name of a reward given alone


def named_rewards(reward: Any) -> dict[str, RewardFunction]:
    """``objective.reward`` as ``{name: callable}``: one reward is named ``reward``."""
    if isinstance(reward, Mapping):
        return {str(name): fn for name, fn in reward.items()}
    return {SINGLE: reward}


def reward_problems(reward: RewardFunction) -> list[str]:
    """The reward's own settings problems, where it declares ``problems()``."""
    check = getattr(reward, "problems", None)
    return list(check()) if callable(check) else []


def score(
    rewards: Mapping[str, RewardFunction],
    weights: Mapping[str, float],
    prompts: list[str],
    completions: list[str],
    fields: Mapping[str, Sequence[Any]],
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The weighted sum of every reward for each completion, and each reward on its own."""
    import torch

    each = {
        name: torch.as_tensor(fn(prompts=prompts, completions=completions, **fields)).float()
        for name, fn in rewards.items()
    }
    total = sum(
        (weights.get(name, 1.0) * value for name, value in each.items()),
        torch.zeros(len(completions)),
    )
    return total, each


@dataclass
class ClassifierReward:
    """Probability that a finished ftexp classifier run assigns ``label`` to each completion.

    E.g. the default sentiment run scores "fresh" (positive review) in [0, 1]. The classifier is
    loaded on first use, never at config time.
    """

    run_dir: str = "???"
    label: str = "fresh"
    max_length: int = 128
    _loaded: Any = field(default=None, init=False, repr=False)

    def problems(self) -> list[str]:
        """Check that ``run_dir`` is a finished classifier run."""
        run = Path(self.run_dir).expanduser()
        if not (run / "config.yaml").is_file() or not (run / "model").is_dir():
            return [
                f"objective.reward.run_dir={self.run_dir!r} is not a finished ftexp run "
                "(needs config.yaml and model/): train a classifier first, e.g. `python -m ftexp`"
            ]
        return []

    def __call__(self, prompts: list[str], completions: list[str], **fields: Any) -> torch.Tensor:
        """Score the completions (no gradients)."""
        if self._loaded is None:
            from ftexp.reload import load_run

            model, tokenizer, labels = load_run(self.run_dir)
            if self.label not in labels:
                raise ValueError(f"reward label {self.label!r} is not one of {labels}")
            self._loaded = (model, tokenizer, labels.index(self.label))
        model, tokenizer, index = self._loaded
        batch = tokenizer(
            completions,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        import torch

        with torch.inference_mode():
            probs = model(**batch).logits.float().softmax(-1)
        return probs[:, index].clone()


@dataclass
class CharacterReward:
    """Share of non-space characters equal to ``character``: a toy reward for tests."""

    character: str = "e"

    def problems(self) -> list[str]:
        """A single character is required."""
        return [] if len(self.character) == 1 else ["objective.reward.character must be 1 char"]

    def __call__(self, prompts: list[str], completions: list[str], **fields: Any) -> list[float]:
        """Score the completions."""
        scores = []
        for text in completions:
            chars = [c for c in text if not c.isspace()]
            scores.append(sum(c == self.character for c in chars) / max(1, len(chars)))
        return scores


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

    def __call__(self, prompts: list[str], completions: list[str], **fields: Any) -> list[float]:
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
