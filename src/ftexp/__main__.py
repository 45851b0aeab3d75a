"""Command line: ``python -m ftexp [group=option ...] [key=value ...]``."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from typing import TYPE_CHECKING

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ftexp.errors import refusals
from ftexp.infra import sweep_resume
from ftexp.infra.console import choices_line, route_library_output

if TYPE_CHECKING:
    from ftexp.parts import Parts

# one id per launching process: runs started in the same second get different run dirs
# (DDP ranks inherit the launcher's resolved ``hydra.run.dir``, so they share its dir)
RUN_ID = f"{os.getpid() % 10000:04d}{secrets.token_hex(1)}"
OmegaConf.register_new_resolver("run_id", lambda: RUN_ID, replace=True)
# cached: Hydra copies the cache into each job, so all jobs of a sweep share one dir
OmegaConf.register_new_resolver(
    "sweep_dir",
    lambda log_dir: sweep_resume.sweep_dir(str(log_dir), sweep_resume.new_sweep_name(RUN_ID)),
    replace=True,
    use_cache=True,
)


_STARTED: list[bool] = []  # set once Hydra hands a composed config to ``run``


def main() -> None:
    """``python -m ftexp``: Hydra composes the config, ``run`` trains it.

    Hydra itself refuses an unknown option or key (``method=lorra``) with its own message and
    exit code 1, before ftexp's code runs; that is a config error too, so it exits with 2.
    Failures after composition keep Hydra's code and traceback.
    """
    with refusals():
        _refuse_null_groups(sys.argv[1:])
        _refuse_uncomposable(sys.argv[1:])
    try:
        run()
    except SystemExit as stop:
        if stop.code == 1 and not _STARTED:
            raise SystemExit(2) from None
        raise
    sweep_resume.sweep_finished()  # a multirun that got here ran every job


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def run(cfg: DictConfig) -> float | None:
    """Train one configuration; return the optimised metric for Hydra sweepers."""
    _STARTED.append(True)
    with refusals():
        taken = _take_experiment_rows(cfg)
        replaced = _prefer_given_source(cfg)
        kept = sweep_resume.kept_result(cfg)
        if kept is not None:
            return _optimized(cfg, kept)
        parts = _check_before_heavy_imports(cfg)
        logging.captureWarnings(True)  # the libraries' import-time warnings: to the log file
        from ftexp.callbacks.guards import NonFiniteLossError
        from ftexp.infra.hydra_ddp import ddp_ready_multirun_job
        from ftexp.models.base import notice_of
        from ftexp.run.wiring import (
            train,  # heavy imports only once the config is known to be sound
        )

        route_library_output()
        if HydraConfig.initialized():
            logging.getLogger("ftexp").info(choices_line(HydraConfig.get().runtime.choices))
        if taken:
            logging.getLogger("ftexp").info(f"[ftexp] the experiment's settings: {' '.join(taken)}")
        if replaced:
            logging.getLogger("ftexp").info(
                f"[ftexp] your data source replaces the option's own: {' '.join(replaced)}"
            )
        if notice := notice_of(parts.model):
            logging.getLogger("ftexp").warning(f"[ftexp] notice: {notice}")
        try:
            with ddp_ready_multirun_job():
                metrics = train(cfg, parts)
        except NonFiniteLossError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(3)
    return _optimized(cfg, metrics)


def _optimized(cfg: DictConfig, metrics: dict[str, float]) -> float | None:
    """The value a sweeper optimises: the kept checkpoint's ``optimized_metric``."""
    metric = cfg.get("optimized_metric")
    if not metric:
        return None
    return metrics.get(f"best/{metric}", metrics.get(metric))


def _refuse_null_groups(arguments: list[str]) -> None:
    """``logger=null``: Hydra drops a group with ``~logger``; ``=null`` ends in its traceback."""
    from ftexp.checks.override_check import config_groups
    from ftexp.errors import ConfigError

    groups = set(config_groups())
    nulled = [a.partition("=")[0] for a in arguments if a.endswith("=null")]
    issues = [
        f"{group}=null: a config group is dropped with ~{group} (run without it), "
        f"or choose one of its options, {group}=<option>"
        for group in nulled
        if group.lstrip("+") in groups
    ]
    if issues:
        raise ConfigError(issues)


def _refuse_uncomposable(arguments: list[str]) -> None:
    """A misspelt key, group or option, refused in ftexp's words before Hydra's own text."""
    from ftexp.checks.override_check import override_problems
    from ftexp.errors import ConfigError

    if problems := override_problems(arguments):
        raise ConfigError(problems)


def _take_experiment_rows(cfg: DictConfig) -> list[str]:
    """Give the run the experiment's settings for its method (``study.method_overrides``)."""
    if not HydraConfig.initialized():
        return []
    from ftexp.checks.method_overrides import apply_to_run

    hydra_cfg = HydraConfig.get()
    choices = hydra_cfg.runtime.choices
    groups = {str(name).partition("@")[0] for name in choices}
    method = choices.get("method")
    return apply_to_run(cfg, str(method), list(hydra_cfg.overrides.task), groups) if method else []


def _prefer_given_source(cfg: DictConfig) -> list[str]:
    """``data.path``/``data.hub_id`` on the command line replace the data option's own source."""
    if not HydraConfig.initialized():
        return []
    from ftexp.data.given_source import prefer_given_source

    return prefer_given_source(cfg, list(HydraConfig.get().overrides.task))


def _check_before_heavy_imports(cfg: DictConfig) -> Parts:
    """The checks that need no torch, then the data read: bad input is refused in seconds."""
    from ftexp.checks.config_check import check_light
    from ftexp.run.eval_sets import read_eval_sets

    parts = check_light(cfg)
    parts.data.load()  # a DataError (bad row, one class, empty split) before any import
    read_eval_sets(cfg, parts.data.class_names())  # their labels against the model's classes
    return parts


if __name__ == "__main__":
    main()
