"""A source of one's own given on the command line replaces the data option's bundled one.

``data=sentiment data.path=reviews.csv`` reads ``reviews.csv`` with the option's columns, labels,
format and defaults: the option's pinned artifact (and a hub id it names) is dropped for the run.
Where the command line gives ``data.artifact`` too, both stay: ``data.path`` then names files
inside the artifact, as ``data=ner_zh`` does.
"""

from __future__ import annotations

from typing import Any

BROUGHT = ("path", "hub_id")  # what a user brings
BUNDLED = ("artifact", *BROUGHT)  # what an option may carry that a brought source replaces


def prefer_given_source(data: Any, given_keys: set[str]) -> list[str]:
    """Clear the sources of the ``data`` config that a given ``data.path``/``data.hub_id`` replaces.

    ``given_keys`` are the keys the command line sets. Returns the overrides applied, as the
    run's first lines state them; none where no source was given or ``data.artifact`` was.
    """
    from omegaconf import open_dict

    brought = [key for key in BROUGHT if _given(f"data.{key}", given_keys)]
    if not brought or _given("data.artifact", given_keys):
        return []
    applied = []
    with open_dict(data):
        for key in BUNDLED:
            if key not in brought and data.get(key) is not None:
                data[key] = None
                applied.append(f"data.{key}=null")
    return applied


def _given(key: str, given_keys: set[str]) -> bool:
    """``key`` or one of its children (``data.path.train``) is set on the command line."""
    return any(given == key or given.startswith(f"{key}.") for given in given_keys)
