"""A study job's identity, and when a result kept under an older version's key still holds.

A job is keyed by its whole composed config, so any change to what it runs gives a new key.
A later ftexp version that adds a config key (at its default) changes every key too, though
the jobs run the same: ``still_holds`` recognises that case, so an upgrade does not throw a
study's kept results away.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ftexp import current_path

if TYPE_CHECKING:
    from omegaconf import DictConfig


def plain_config(cfg: DictConfig) -> dict[str, Any]:
    """The composed config as plain data, without ``paths`` (where the job writes).

    Also without ``study``: the study's own settings, whose effect is in the job's overrides.
    """
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(plain, dict)
    plain.pop("paths", None)  # the run dir is where a job writes, not what it is
    plain.pop("study", None)  # how a study picks a job's overrides; the overrides are in it
    return plain


def job_key(config: dict[str, Any]) -> str:
    """A job's identity: the hash of its ``plain_config``."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"optim.lr": 1e-3, ...}``: every leaf of a nested mapping under its dotted path."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    leaves: dict[str, Any] = {}
    for name, value in tree.items():
        leaves.update(flat(value, f"{prefix}.{name}" if prefix else str(name)))
    return leaves


def still_holds(kept: dict[str, Any], now: dict[str, Any], defaults: dict[str, Any]) -> bool:
    """Whether a job kept with config ``kept`` ran what config ``now`` asks for.

    True when every setting of ``kept`` is unchanged in ``now`` and each setting ``now`` adds
    holds the value ftexp's base config gives it (``defaults``): a key a newer version added,
    left at its default. A key that was removed, or added with another value (set by an
    experiment, say), makes the kept result stale.
    """
    old, new, base = flat(kept), flat(now), flat(defaults)
    # a class that moved since is the same job under its new path
    old = {k: current_path(v) if k.endswith("_target_") else v for k, v in old.items()}
    if any(path not in new or new[path] != value for path, value in old.items()):
        return False
    return all(path in base and base[path] == new[path] for path in new.keys() - old.keys())
