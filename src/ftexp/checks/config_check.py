"""Config-time validation: every problem in the composed config, listed at once, before loading."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from ftexp.checks.contract import contract_problems
from ftexp.checks.devices import device_problems
from ftexp.checks.settings import setting_problems
from ftexp.checks.trainer_settings import trainer_value_problems
from ftexp.data.base import FinetuneData
from ftexp.errors import ConfigError
from ftexp.infra.tracker_login import tracker_problems
from ftexp.models.base import ModelSpec
from ftexp.models.vocab import FROM_DATA, VocabSettings, rows_rate_problems
from ftexp.objectives.objective import Objective, run_identity
from ftexp.parts import BuiltParts, Parts
from ftexp.utils.types import type_problems

if TYPE_CHECKING:
    from torch import nn

HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}
# instantiated (cheap, no torch) and asked for problems(), in this order
COMPONENTS = Parts.names()
TARGET_GROUPS = ("objective", "trainer")  # must be present; trainer keys checked on its signature
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


def check_light(cfg: DictConfig) -> Parts:
    """The checks that need no torch; the run's parts, or ``ConfigError`` listing every problem.

    Each component is built from its config (cheap: no torch, no weights) and states its own
    problems; then the rules between components (the contract, the model's sizes, the
    vocabulary) and the run's own settings. The command line runs this before heavy imports.
    """
    built, issues = check_components(cfg)
    if issues:
        raise ConfigError(issues)
    return built.complete()


def check_heavy(cfg: DictConfig, parts: Parts | None = None) -> Parts:
    """Everything that can be known before weights load; ``ConfigError`` lists every problem.

    The light checks (unless ``parts`` already passed them), then what needs torch and
    Lightning: trainer, callbacks, loggers, strategy, devices, a checkpoint to resume and the
    method's target layers on the model built on the meta device. No weights are read.
    """
    built, issues = check_components(cfg) if parts is None else (BuiltParts.of(parts), [])
    issues += check_runtime(cfg, built)
    if issues:
        raise ConfigError(issues)
    return built.complete()


def check_components(cfg: DictConfig) -> tuple[BuiltParts, list[str]]:
    """The light checks (no torch import): the components built so far, and every problem."""
    issues: list[str] = []
    built = BuiltParts()
    for key in (*COMPONENTS, *TARGET_GROUPS):
        if cfg.get(key) is None:
            issues.append(f"config group {key!r} is missing; pick one, e.g. {key}=<option>")
    for key in COMPONENTS:
        node = cfg.get(key)
        if node is None:
            continue
        missing = _missing_values(key, node)
        if missing:
            issues += missing
            continue
        issues += unknown_keys(key, node)
        type_issues = type_problems(key, node)
        issues += type_issues
        if type_issues:
            continue
        try:
            part = instantiate(_known_keys_only(node), _convert_="all")
        except Exception as err:
            issues.append(f"{key}: {_root_cause(err)}")
            continue
        setattr(built, key, part)
        issues += part.problems()
    for rule in PART_RULES:
        issues += rule(built, cfg)
    issues += _run_problems(cfg)
    issues += tracker_problems(cfg.get("logger"))
    issues += trainer_value_problems(cfg.get("trainer"))
    if cfg.get("trainer") is not None and str(cfg.trainer.get("accelerator")) == "cpu":
        issues += device_problems(cfg.trainer)  # no torch needed to count CPU cores
    return built, issues


def _contract_rule(built: BuiltParts, cfg: DictConfig) -> list[str]:
    """The objective's batch fields and model task against the data and the model."""
    objective, data = built.objective, built.data
    if objective is None or data is None:
        return []
    issues = contract_problems(objective, data, built.model, _choices(cfg), data_partners)
    issues += objective.data_problems(data)
    if built.method is not None:
        issues += built.method.task_problems(objective.model_task(data))
    return issues


def _model_fit_rule(built: BuiltParts, cfg: DictConfig) -> list[str]:
    """What the model's config alone says about the data and method (no weights read)."""
    spec = built.model
    if spec is None:
        return []
    values = spec.config_values()
    issues = [] if built.data is None else built.data.model_problems(values)
    if built.method is not None:
        issues += built.method.family_problems(values.get("model_type"))
    # an objective that trains nothing ignores the optimizer
    trains = built.objective is None or built.objective.trains
    if trains and built.optim is not None:
        issues += rows_rate_problems(spec, built.optim.new_rows_lr)
    return issues


def _vocab_data_rule(built: BuiltParts, cfg: DictConfig) -> list[str]:
    """``model.extend_vocab=from_data`` needs data with text."""
    spec, data = built.model, built.data
    if not isinstance(spec, VocabSettings) or spec.extend_vocab != FROM_DATA or data is None:
        return []
    if type(data).text_of is FinetuneData.text_of:  # not overridden: the data has no text
        return [
            f"model.extend_vocab=from_data needs text data; {type(data).__name__} has none: "
            "pass a vocabulary file, or model.extend_vocab=null"
        ]
    return []


# the checks between parts, each run on the parts that were built (light: no torch)
PART_RULES: tuple[Callable[[BuiltParts, DictConfig], list[str]], ...] = (
    _contract_rule,
    _model_fit_rule,
    _vocab_data_rule,
)


def check_runtime(cfg: DictConfig, built: BuiltParts) -> list[str]:
    """The checks that import torch/Lightning: trainer, callbacks, loggers, strategy, devices."""
    from ftexp.checks.trainer_settings import lightning_settings, trainer_problems
    from ftexp.utils.compat import strategy_problems

    issues: list[str] = trainer_problems(cfg.get("trainer"))
    if cfg.get("trainer") is not None:  # ftexp's own keys (memory_check) are not Lightning's
        issues += unknown_keys("trainer", lightning_settings(cfg.trainer))
    for key in TARGET_DICTS:
        for name, node in (cfg.get(key) or {}).items():
            issues += unknown_keys(f"{key}.{name}", node)
    if built.method is not None:
        issues += strategy_problems(cfg, built.method, built.objective)
        issues += checkpoint_problems(cfg.get("ckpt_path"), built)
        issues += target_problems(built)
    if cfg.get("trainer") is not None and str(cfg.trainer.get("accelerator")) != "cpu":
        issues += device_problems(cfg.trainer)
    return issues


LIGHTNING_CKPT_NAMES = ("last", "best", "hpc", "registry")


def checkpoint_problems(ckpt_path: object, built: BuiltParts) -> list[str]:
    """``ckpt_path`` exists, loads with ``weights_only=True``, and came from this method/model."""
    if not ckpt_path or str(ckpt_path) in LIGHTNING_CKPT_NAMES:
        return []
    path = Path(str(ckpt_path)).expanduser()
    method, spec, objective = built.method, built.model, built.objective
    if not path.is_file() or method is None or spec is None or objective is None:
        return []  # a missing file is reported by the light checks
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        return [
            f"ckpt_path={ckpt_path} is not a readable checkpoint ({reason}); it may be truncated "
            "or not a Lightning .ckpt: use the run's checkpoints/last.ckpt or another checkpoint"
        ]
    written = checkpoint.get("ftexp", {}) if isinstance(checkpoint, dict) else {}
    current = run_identity(method, spec, objective)
    issues = []
    for key, now in current.items():
        then = written.get(key)
        if then and then != now:
            issues.append(
                f"ckpt_path={ckpt_path} was written by {key} {then}, but this run uses {now}; "
                f"resume with the {key} that wrote it, or start a new run without ckpt_path"
            )
    return issues


def target_problems(built: BuiltParts) -> list[str]:
    """Explicit ``method.target_modules`` matched against the model built on the meta device."""
    method, spec, objective, data = built.method, built.model, built.objective, built.data
    targets = [] if method is None else method.named_targets()
    if not targets or spec is None or objective is None or data is None:
        return []
    try:
        names = [name for name, _ in meta_model(spec, objective, data).named_modules()]
    except Exception:  # the config cannot be read offline (e.g. a hub id): PEFT checks on load
        return []
    missing = [t for t in targets if not any(n == t or n.endswith(f".{t}") for n in names)]
    if not missing:
        return []
    leaves = sorted({n.rsplit(".", 1)[-1] for n in names if n and not n[-1].isdigit()})
    return [
        f"method.target_modules={list(targets)}: {missing} match no layer of this model; "
        f"its module names end in {leaves[:40]}; or set method.target_modules=null for all "
        "linear layers"
    ]


def meta_model(spec: ModelSpec, objective: Objective, data: FinetuneData) -> nn.Module:
    """The objective's model for ``spec``, built on the meta device (no weights read)."""
    from ftexp.models.base import meta_backbone

    task = objective.model_task(data)
    labels = objective.head_labels(["a", "b"]) if task.labelled else None
    return meta_backbone(spec, task, labels)


def _choices(cfg: DictConfig) -> dict[str, str]:
    """The chosen option of each group (``objective=dpo``), for messages."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        choices = HydraConfig.get().runtime.choices
        return {k: str(choices.get(k)) for k in ("objective", "data", "model")}
    return {
        k: str(cfg[k].get("_target_", k)).rsplit(".", 1)[-1] for k in ("objective", "data", "model")
    }


def data_partners() -> dict[str, Any]:
    """Every data option on the config search path and its data class (what it provides).

    Composed by Hydra itself, so an option that inherits another (``defaults: [sentiment]``)
    and the options of a user's ``conf/`` folder count as they do in a run. Asked only for a
    refusal's message (the options that would fit), and once per working directory.
    """
    return _data_partners(os.getcwd())


@functools.cache
def _data_partners(cwd: str) -> dict[str, Any]:
    from hydra import compose

    with hydra_context():
        return {
            name: get_object(compose(config_name=f"data/{name}").data._target_)
            for name in group_options("data")
        }


def group_options(group: str) -> list[str]:
    """The options of a config group on Hydra's search path (a user's ``conf/`` included)."""
    return _group_options(group, os.getcwd())


# per working directory: the user's ``conf/`` on the search path is ``./conf``
@functools.cache
def _group_options(group: str, cwd: str) -> list[str]:
    from hydra.core.global_hydra import GlobalHydra

    with hydra_context():
        return list(GlobalHydra.instance().config_loader().get_group_options(group))


def unknown_options(group: str, names: list[str], where: str) -> list[str]:
    """A problem for each name that is not an option of ``group``, with the closest one."""
    known = group_options(group)
    issues = []
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"options: {', '.join(known)}"
        issues.append(f"{where}: {name!r} is not a {group} option; {hint}")
    return issues


def hydra_context() -> AbstractContextManager[Any]:
    """The running Hydra app's config search path, or the packaged configs outside one."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return nullcontext()
    return initialize_config_module("ftexp.conf", version_base="1.3")


def _missing_values(where: str, node: DictConfig) -> list[str]:
    """A problem for every mandatory value (``???``) left unset in ``node``.

    A ``???`` left by the option under a ``_target_`` the command line changed (``reward.run_dir``
    after ``objective.reward._target_=ftexp.rewards.ExactAnswer``) is not the new
    target's setting: the fix replaces the node, not sets the value.
    """
    problems = []
    # OmegaConf names each key from the root already (``objective.reward.run_dir``)
    for name in sorted(str(k) for k in OmegaConf.missing_keys(node)):
        key = name if name.startswith(f"{where}.") else f"{where}.{name}"
        parent_path, _, leaf = key.removeprefix(f"{where}.").rpartition(".")
        parent = OmegaConf.select(node, parent_path) if parent_path else node
        target = parent.get("_target_") if isinstance(parent, DictConfig) else None
        accepted = _accepted_target_names(str(target)) if target else None
        if accepted is not None and leaf not in accepted:
            # Hydra cannot delete a ??? value: the fix replaces the whole node
            node_key = key.rpartition(".")[0]
            problems.append(
                f"{key} is left from the option's default and is not a setting of {target}; "
                f"replace the node whole: '~{node_key}' '+{node_key}={{_target_: {target}}}'"
            )
        else:
            problems.append(f"{key} is required (it is ???); set {key}=...")
    return problems


def _accepted_target_names(target: str) -> set[str] | None:
    """The keyword names ``target`` accepts; None where it takes any or cannot be imported."""
    try:
        return _accepted_names(get_object(target))
    except Exception:  # a misspelt target is reported by unknown_keys
        return None


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


def _run_problems(cfg: DictConfig) -> list[str]:
    issues = setting_problems(cfg)
    if issues:
        return issues
    ckpt = cfg.get("ckpt_path")
    if (
        ckpt
        and str(ckpt) not in LIGHTNING_CKPT_NAMES
        and not Path(str(ckpt)).expanduser().is_file()
    ):
        issues.append(f"ckpt_path={ckpt} does not exist; point it at a run's checkpoints/*.ckpt")
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
