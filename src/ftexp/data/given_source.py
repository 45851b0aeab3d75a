"""A source of one's own given on the command line replaces the data option's bundled one.

``data=sentiment data.path=reviews.csv`` reads ``reviews.csv`` with the option's columns, labels,
format and defaults: the option's pinned artifact (and a hub id it names) is dropped for the run.
Where the command line gives ``data.artifact`` too, both stay: ``data.path`` then names files
inside the artifact, as ``data=ner_zh`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig

BROUGHT = ("path", "hub_id")  # what a user brings
BUNDLED = ("artifact", *BROUGHT)  # what an option may carry that a brought source replaces


def prefer_given_source(cfg: DictConfig, overrides: list[str]) -> list[str]:
    """Clear the data sources of ``cfg`` that a given ``data.path``/``data.hub_id`` replaces.

    ``overrides`` are the command line's. Returns the overrides applied, as the run's first
    lines state them; none where no source was given or ``data.artifact`` was.
    """
    from omegaconf import open_dict

    from ftexp.utils.overrides import given_keys

    data = cfg.get("data")
    keys = given_keys(overrides)
    brought = [key for key in BROUGHT if _given(f"data.{key}", keys)]
    if data is None or not brought or _given("data.artifact", keys):
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
