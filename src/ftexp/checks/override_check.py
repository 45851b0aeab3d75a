"""Command-line overrides Hydra cannot compose, refused in ftexp's words before Hydra runs.

A misspelt key (``method.rr=8``), group (``metod=lora``) or option (``method=lorra``), or a ``+``
that is not needed (``+method.r=8``), would otherwise end in Hydra's own text, which advises
``+method.rr=8`` and a stack-trace variable. Each is answered with the key, the closest valid
name and the override to type instead.
"""

from __future__ import annotations

import difflib
from typing import Any

from ftexp.utils.overrides import override_key

# flags after which the command line is Hydra's to read as it is (another config, a search path)
_HYDRA_ONLY_FLAGS = ("--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp")
_VALUE_FLAGS = ("--cfg", "-c", "--package", "-p")


def override_problems(arguments: list[str]) -> list[str]:
    """The problems Hydra would meet composing ``arguments``; none when it composes them.

    Sweeps are checked on their first value (a key or option misspelt in one value of a sweep is
    Hydra's to report). Hydra's own settings (``hydra.*``, ``hydra/...``) are left to Hydra.
    """
    overrides = _job_overrides(arguments)
    if overrides is None or not overrides:
        return []
    from hydra import compose
    from hydra.errors import HydraException, MissingConfigException

    from ftexp.checks.config_check import hydra_context

    try:
        with hydra_context():
            compose(config_name="train", overrides=overrides)
    except MissingConfigException as err:
        return [_missing_option(err)]
    except HydraException as err:
        return [_composition_problem(err, overrides)]
    return []


def _job_overrides(arguments: list[str]) -> list[str] | None:
    """The job's overrides, each sweep at its first value; None where Hydra should read all."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    overrides: list[str] = []
    skip_next = False
    for argument in arguments:
        if skip_next:
            skip_next = False
            continue
        if argument.startswith(_HYDRA_ONLY_FLAGS):
            return None
        if argument in _VALUE_FLAGS:
            skip_next = True
            continue
        if argument.startswith("-") or argument.lstrip("+~").startswith("hydra"):
            continue
        try:
            (override,) = OverridesParser.create().parse_overrides([argument])
        except OverrideParseException:
            return None  # Hydra's parser error points at the character; keep it
        if override.is_sweep_override():
            first = next(iter(override.sweep_string_iterator()), None)
            if first is None:
                continue
            argument = f"{override.get_key_element()}={first}"
        overrides.append(argument)
    return overrides


def _missing_option(err: Exception) -> str:
    """``method=lorra``: the group's options and the closest one."""
    from ftexp.checks.config_check import group_options

    group, option = _missing_group_option(str(err))
    if group is None:
        return f"{err}".splitlines()[0]
    known = group_options(group)
    close = difflib.get_close_matches(option, known, n=1)
    options = f"options: {', '.join(known)}"
    hint = f"did you mean {group}={close[0]}? ({options})" if close else options
    return f"{group}={option}: {option!r} is not a {group} option; {hint}"


def _missing_group_option(text: str) -> tuple[str | None, str]:
    """``('method', 'lorra')`` out of Hydra's "Could not find 'method/lorra'"."""
    marker = "Could not find '"
    if marker not in text:
        return None, ""
    path = text.split(marker, 1)[1].split("'", 1)[0]
    group, _, option = path.rpartition("/")
    return (group or None), option


def _composition_problem(err: Exception, overrides: list[str]) -> str:
    """A key Hydra could not set: the key, the closest valid name, the override to type."""
    cause: Any = err.__cause__
    text = str(err)
    key = str(getattr(cause, "full_key", "") or _quoted(text))
    value = next((o.partition("=")[2] for o in overrides if override_key(o) == key), "...")
    if "Could not append to config" in text and key:
        return f"+{key}: {key} is already set; override it without the +: {key}={value}"
    if "Could not delete" in text and key:
        return f"~{key}: there is no {key} to remove; check the spelling"
    if not key:
        return text.splitlines()[0]
    others = [o for o in overrides if override_key(o) != key]
    parent, _, leaf = key.rpartition(".")
    siblings = _siblings(parent, others)
    groups = config_groups() if not parent else []
    close = difflib.get_close_matches(leaf, sorted({*siblings, *groups}), n=1)
    where = f"{parent}." if parent else ""
    if close:
        hint = f"did you mean {where}{close[0]}={value}?"
    else:
        hint = f"valid keys: {', '.join(sorted(siblings))}" if siblings else "check the spelling"
    return f"{key} is not a setting here; {hint} (a key of your own: +{key}={value})"


def _quoted(text: str) -> str:
    """The key in Hydra's "Could not override 'method.rr'." text."""
    parts = text.split("'")
    return parts[1] if len(parts) > 2 else ""


def _siblings(parent: str, overrides: list[str]) -> list[str]:
    """The keys next to a misspelt one, in the config the other overrides compose."""
    from hydra import compose
    from omegaconf import DictConfig, OmegaConf

    from ftexp.checks.config_check import hydra_context

    with hydra_context():
        node: Any = compose(config_name="train", overrides=overrides)
    for part in parent.split(".") if parent else []:
        node = node.get(part) if isinstance(node, DictConfig) else None
    if not isinstance(node, DictConfig) or not OmegaConf.is_dict(node):
        return []
    return [str(k) for k in node]


def config_groups() -> list[str]:
    """The packaged config group names (``method``, ``data``, ...)."""
    from pathlib import Path

    conf = Path(__file__).resolve().parents[1] / "conf"
    return [p.name for p in conf.iterdir() if p.is_dir() and not p.name.startswith("_")]
