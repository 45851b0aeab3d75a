"""Entity spans from tag sequences, and exact-match precision / recall / F1 (seqeval's rules).

Tags are ``O`` or ``<prefix>-<type>``. Prefixes: ``B`` begins, ``I``/``M`` continues, ``E``
ends, ``S`` is a one-token entity, so BIO, BIOES and BMES all read the same way. Span
boundaries follow conlleval / seqeval's default mode: an ``I`` after ``O`` or after another type
starts an entity, and a type change ends one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

Span = tuple[str, int, int]  # (type, first index, last index), inclusive
SCHEMES = {"bio": set("BI"), "bioes": set("BIES"), "bmes": set("BMES")}


def split_tag(tag: str) -> tuple[str, str]:
    """``B-PER`` -> ``("B", "PER")``; ``O`` -> ``("O", "")``; ``M`` reads as ``I``."""
    if tag == "O" or "-" not in tag:
        return "O", ""
    prefix, kind = tag.split("-", 1)
    return ("I" if prefix == "M" else prefix), kind


def tag_problems(tags: Iterable[str], scheme: str) -> list[str]:
    """Tags that do not belong to ``scheme`` (``bio``, ``bioes`` or ``bmes``)."""
    allowed = SCHEMES[scheme]
    bad = sorted(
        {t for t in tags if t != "O" and ("-" not in t or t.split("-", 1)[0] not in allowed)}
    )
    if not bad:
        return []
    return [
        f"tags {bad[:8]} are not {scheme.upper()} tags (O or {'/'.join(sorted(allowed))}-TYPE); "
        f"set data.scheme to one of {sorted(SCHEMES)}"
    ]


def spans(tags: list[str]) -> list[Span]:
    """The entities of one tag sequence."""
    found: list[Span] = []
    start, kind = -1, ""
    previous = "O"
    for i, tag in enumerate([*tags, "O"]):
        prefix, this = split_tag(tag)
        if start >= 0 and _ends(previous, prefix, kind, this):
            found.append((kind, start, i - 1))
            start = -1
        if _starts(previous, prefix, kind, this):
            start, kind = i, this
        previous, kind = prefix, this
    return found


def _ends(prev: str, tag: str, prev_kind: str, kind: str) -> bool:
    return prev in "ES" or (prev in "BI" and tag in "BSO") or (prev != "O" and prev_kind != kind)


def _starts(prev: str, tag: str, prev_kind: str, kind: str) -> bool:
    return (
        tag in "BS"
        or (prev in "ES" and tag in "IE")
        or (prev == "O" and tag in "IE")
        or (tag != "O" and prev_kind != kind)
    )


def entity_counts(gold: list[list[str]], predicted: list[list[str]]) -> Counter[tuple[str, str]]:
    """``(type, "tp"|"pred"|"gold")`` counts over sentences, exact span and type match."""
    counts: Counter[tuple[str, str]] = Counter()
    for truth, guess in zip(gold, predicted, strict=True):
        true, found = set(spans(truth)), set(spans(guess))
        for kind, *_ in true:
            counts[kind, "gold"] += 1
        for kind, *_ in found:
            counts[kind, "pred"] += 1
        for kind, *_ in true & found:
            counts[kind, "tp"] += 1
    return counts


def scores(tp: float, pred: float, gold: float) -> dict[str, float]:
    """Precision, recall and F1 (0 where undefined, as seqeval reports)."""
    precision = tp / pred if pred else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_types(tag_names: Iterable[str]) -> list[str]:
    """The entity types named by a tag set, sorted."""
    return sorted({split_tag(t)[1] for t in tag_names} - {""})
