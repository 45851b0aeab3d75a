"""Arithmetic word problems with a known answer, made from a seed: prompts for verifiable RL."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ftexp.data.conversations import Asked
from ftexp.data.prompts import PromptData

NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena")
ITEMS = ("apples", "books", "coins", "marbles", "pencils", "shells", "stamps", "stickers")
# operation -> (question template, answer); a and b are drawn in [2, max_operand]
PROBLEMS = {
    "add": (
        "{name} has {a} {item}. {name} gets {b} more. How many {item} does {name} have now?",
        lambda a, b: a + b,
    ),
    "subtract": (
        "{name} has {a} {item} and gives away {b}. How many {item} are left?",
        lambda a, b: a - b,
    ),
    "multiply": (
        "{name} fills {a} boxes with {b} {item} each. How many {item} is that in all?",
        lambda a, b: a * b,
    ),
}
ASK = " End your reply with the answer as a number."


@dataclass
class ArithmeticData(PromptData):
    """``count`` one-step word problems (add, subtract, multiply) drawn with ``seed``.

    Each prompt carries its ``answer`` for a verifiable reward
    (``ftexp.rewards.ExactAnswer``); greedy val/test reward is then the share
    answered right.

    Attributes:
        count: problems drawn (before the val/test split).
        seed: the draw's seed (the split has its own, ``split_seed``).
        max_operand: largest number in a problem.
        operations: which of add, subtract, multiply.
    """

    count: int = 2000
    seed: int = 0
    max_operand: int = 20
    operations: list[str] = field(default_factory=lambda: list(PROBLEMS))

    def source_problems(self) -> list[str]:
        """Known operations, a count and a range that give problems."""
        issues = []
        unknown = sorted(set(self.operations) - set(PROBLEMS))
        if unknown or not self.operations:
            issues.append(
                f"data.operations must be some of {list(PROBLEMS)}, got {self.operations}"
            )
        if self.count < 1 or self.max_operand < 2:
            issues.append("data.count must be >= 1 and data.max_operand >= 2")
        return issues

    def example_fields(self) -> list[str]:
        """Each problem carries its answer."""
        return ["answer"]

    def origin(self) -> str:
        """The draw."""
        return f"arithmetic problems (seed {self.seed})"

    def read(self) -> dict[str, list[Asked]]:
        """Draw the problems (duplicates are dropped by the split, as for any data)."""
        rng = random.Random(self.seed)
        problems = []
        for _ in range(self.count):
            operation = rng.choice(sorted(self.operations))
            template, solve = PROBLEMS[operation]
            a, b = rng.randint(2, self.max_operand), rng.randint(2, self.max_operand)
            if operation == "subtract" and b > a:
                a, b = b, a
            item, name = rng.choice(ITEMS), rng.choice(NAMES)
            text = template.format(name=name, a=a, b=b, item=item) + ASK
            problems.append(Asked(text, (("answer", str(solve(a, b))),)))
        return {"all": problems}
