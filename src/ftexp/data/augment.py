"""EDA-style text augmentation (Wei & Zou 2019), offline: random swap, delete and insert of words.

Each operation has its own probability per word. Insertion copies a random word of the same
text (EDA inserts a synonym; no thesaurus is needed this way). Used on training batches only;
each draw of an example is seeded by ``(seed, epoch, index)``, so a run repeats exactly and a
resumed run gets the same augmented texts.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

OPERATIONS = ("swap", "delete", "insert")


def augment_problems(settings: Mapping[str, float] | None) -> list[str]:
    """Unknown operations and probabilities outside [0, 1)."""
    issues = []
    for name, p in (settings or {}).items():
        if name not in OPERATIONS:
            issues.append(f"data.augment.{name} is not an operation; use {list(OPERATIONS)}")
        elif not 0 <= float(p) < 1:
            issues.append(f"data.augment.{name} must be a probability in [0, 1), got {p}")
    return issues


def augment(text: str, settings: Mapping[str, float], rng: random.Random) -> str:
    """One augmented copy of ``text`` (whitespace words; at least one word is kept)."""
    words = text.split()
    if len(words) < 2:
        return text
    for i in range(len(words)):
        if rng.random() < settings.get("swap", 0.0):
            j = rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
    kept = [w for w in words if rng.random() >= settings.get("delete", 0.0)]
    words = kept or [rng.choice(words)]
    for _ in range(len(words)):
        if rng.random() < settings.get("insert", 0.0):
            words.insert(rng.randrange(len(words) + 1), rng.choice(words))
    return " ".join(words)


def draw_rng(seed: int, draw: int) -> random.Random:
    """The random stream of one draw of one example."""
    return random.Random(seed * 1_000_003 + draw)
