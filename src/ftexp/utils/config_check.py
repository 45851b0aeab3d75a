"""Config-time validation: every problem in the composed config, listed at once, before loading."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from ftexp.errors import ConfigError
from ftexp.utils.compat import strategy_problems

HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}
# instantiated (cheap) and asked for problems()
COMPONENTS = ("model", "method", "optim", "data", "speed")
TARGET_GROUPS = ("objective", "trainer")  # single targets: keys checked against the signature
TARGET_DICTS = ("callbacks", "logger")  # name -> target mappings


def unknown_keys(where: str, node: Any) -> list[str]:
    """Return a problem for each key of ``node`` that its ``_target_`` does not accept."""
    if not isinstance(node, DictConfig) or "_target_" not in node:
        return []
    try:
        target = get_object(node._target_)
    except Exception:
        return [f"{where}._target_={node._target_!r} cannot be imported; check the spelling"]
    accepted = _accepted_names(target)
    if accepted is None:  # takes **kwargs: anything goes
        return []
    issues = []
    for key in node:
        if key in HYDRA_KEYS or key in accepted:
            continue
        close = _closest(str(key), accepted)
        hint = f"did you mean {where}.{close}?" if close else f"valid keys: {sorted(accepted)}"
        issues.append(f"{where}.{key} is not a setting of {node._target_}; {hint}")
    return issues


def _closest(key: str, accepted: set[str]) -> str | None:
    """Best guess for a typo: a close spelling, else the longest valid key it starts with."""
    close = difflib.get_close_matches(key, sorted(accepted), n=1)
    if close:
        return close[0]
    prefixes = [name for name in accepted if key.startswith(name)]
    return max(prefixes, key=len) if prefixes else None


def _accepted_names(target: Callable[..., Any]) -> set[str] | None:
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL}


def check_and_build(cfg: DictConfig) -> dict[str, Any]:
    """Instantiate the cheap components, validate everything, raise ``ConfigError`` listing all.

    Returns the instantiated components (``model`` spec, ``method``, ``optim``, ``data``); no
    weights have been read at this point.
    """
    issues: list[str] = []
    built: dict[str, Any] = {}
    for key in COMPONENTS + TARGET_GROUPS:
        if cfg.get(key) is None:
            issues.append(f"config group {key!r} is missing; pick one, e.g. {key}=<option>")
    for key in TARGET_GROUPS:
        issues += unknown_keys(key, cfg.get(key))
    for key in TARGET_DICTS:
        for name, node in (cfg.get(key) or {}).items():
            issues += unknown_keys(f"{key}.{name}", node)
    for key in COMPONENTS:
        node = cfg.get(key)
        if node is None:
            continue
        issues += unknown_keys(key, node)
        try:
            built[key] = instantiate(_known_keys_only(node), _convert_="all")
        except Exception as err:
            issues.append(f"{key}: {_root_cause(err)}")
            continue
        issues += built[key].problems()
    issues += _objective_problems(cfg, built)
    if "method" in built:
        issues += strategy_problems(cfg, built["method"])
    issues += _run_problems(cfg)
    if issues:
        raise ConfigError(issues)
    return built


def _known_keys_only(node: DictConfig) -> DictConfig:
    """Drop keys the target does not accept, so its values are still checked."""
    accepted = _accepted_names(get_object(node._target_))
    if accepted is None:
        return node
    resolved_node = OmegaConf.to_container(node, resolve=True)
    assert isinstance(resolved_node, dict)
    return OmegaConf.create(
        {k: v for k, v in resolved_node.items() if k in HYDRA_KEYS or k in accepted}
    )


def _objective_problems(cfg: DictConfig, built: dict[str, Any]) -> list[str]:
    """Ask the objective whether the chosen model family can serve it."""
    objective = cfg.get("objective")
    if objective is None or "model" not in built:
        return []
    try:
        target = get_object(objective._target_)
    except Exception:
        return []  # already reported by unknown_keys
    issues: list[str] = []
    check = getattr(target, "compatibility_problems", None)
    if callable(check):
        issues += check(built["model"])
    own = getattr(target, "config_problems", None)  # e.g. RL: is the reward run there?
    if callable(own):
        try:
            issues += own(objective)
        except Exception as err:
            issues.append(f"objective: {_root_cause(err)}")
    return issues


def _run_problems(cfg: DictConfig) -> list[str]:
    issues = []
    if not cfg.get("train") and cfg.get("test") and not cfg.get("ckpt_path"):
        issues.append("test=true with train=false needs ckpt_path=<path/to.ckpt>")
    metric = cfg.get("optimized_metric")
    if metric and not str(metric).startswith(("val/", "test/")):
        issues.append(f"optimized_metric={metric!r} must be a val/ or test/ metric, e.g. val/acc")
    return issues


def _root_cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err)


def resolved(cfg: DictConfig) -> str:
    """Return the fully resolved config as YAML."""
    return OmegaConf.to_yaml(cfg, resolve=True)
