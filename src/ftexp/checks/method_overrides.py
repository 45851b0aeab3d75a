"""An experiment's per-method settings (``study.method_overrides``), for its study and its runs.

An experiment that compares methods on one task carries the settings each method was measured
with there, e.g. ``{full: [method.lr=1e-4, optim.head_lr_scale=10], lora: [method.lr=1e-3]}``.
The study gives them to that method's jobs; a single run of the experiment takes the row of its
own method too, so ``experiment=compare_fashion_vit method=full`` trains as the study did. A
value given on the command line wins over the experiment's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftexp.utils.overrides import given_keys, override_key

if TYPE_CHECKING:
    from omegaconf import DictConfig


def configured_method_overrides(shared: Any) -> dict[str, list[str]]:
    """The per-method overrides an experiment carries (``study.method_overrides``).

    ``shared`` is the composed config. ``ConfigError`` where one is not ``KEY=VALUE`` or its
    name is not a method or baseline option (a misspelt name would otherwise be silently not
    applied).
    """
    from omegaconf import OmegaConf

    from ftexp.checks.config_check import group_options, unknown_options
    from ftexp.errors import ConfigError

    node = shared.get("study", {}).get("method_overrides", {})
    grouped: dict[str, list[str]] = {}
    problems = []
    known = {*group_options("method"), *group_options("baseline")}
    for method, items in OmegaConf.to_container(node).items() if node else []:
        if method not in known:
            problems += unknown_options("method", [str(method)], "study.method_overrides")
        listed = items if isinstance(items, list) else [items]
        bad = [str(item) for item in listed if not isinstance(item, str) or "=" not in item]
        if bad:
            problems.append(f"study.method_overrides.{method}: {bad[0]!r}: write KEY=VALUE")
        grouped[str(method)] = [str(item) for item in listed]
    if problems:
        raise ConfigError(problems)
    return grouped


def not_given(rows: list[str], given: list[str]) -> list[str]:
    """The rows whose key none of the ``given`` overrides sets: a given value wins over a row's."""
    keys = given_keys(given)
    return [row for row in rows if override_key(row) not in keys]


def apply_to_run(cfg: DictConfig, method: str, given: list[str], groups: set[str]) -> list[str]:
    """Set the experiment's overrides for ``method`` on the composed ``cfg``; return those set.

    ``given`` are the command line's overrides: a key set there keeps its value. ``groups``
    are the config group names, which a composed config can no longer switch: an experiment
    row choosing one is refused, naming the command-line override to use instead.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf, open_dict

    from ftexp.errors import ConfigError

    rows = not_given(configured_method_overrides(cfg).get(method, []), given)
    if not rows:
        return []
    applied = []
    for override in OverridesParser.create().parse_overrides(rows):
        key = override.key_or_group
        if key in groups:
            raise ConfigError(
                [
                    f"study.method_overrides.{method}: {override.input_line!r} chooses a config "
                    f"group, which a single run takes from the command line: add "
                    f"{override.input_line}"
                ]
            )
        with open_dict(cfg):
            OmegaConf.update(cfg, key, override.value(), merge=False)
        applied.append(str(override.input_line))
    return applied
