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

from ftexp.console import choices_line, route_library_output
from ftexp.errors import refusals

if TYPE_CHECKING:
    from ftexp.parts import Parts

# one id per launching process: runs started in the same second get different run dirs
# (DDP ranks inherit the launcher's resolved ``hydra.run.dir``, so they share its dir)
RUN_ID = f"{os.getpid() % 10000:04d}{secrets.token_hex(1)}"
OmegaConf.register_new_resolver("run_id", lambda: RUN_ID, replace=True)


_STARTED: list[bool] = []  # set once Hydra hands a composed config to ``run``


def main() -> None:
    """``python -m ftexp``: Hydra composes the config, ``run`` trains it.

    Hydra itself refuses an unknown option or key (``method=lorra``) with its own message and
    exit code 1, before ftexp's code runs; that is a config error too, so it exits with 2.
    Failures after composition keep Hydra's code and traceback.
    """
    try:
        run()
    except SystemExit as stop:
        if stop.code == 1 and not _STARTED:
            raise SystemExit(2) from None
        raise


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def run(cfg: DictConfig) -> float | None:
    """Train one configuration; return the optimised metric for Hydra sweepers."""
    _STARTED.append(True)
    with refusals():
        parts = _check_before_heavy_imports(cfg)
        logging.captureWarnings(True)  # the libraries' import-time warnings: to the log file
        from ftexp.callbacks.guards import NonFiniteLossError
        from ftexp.run import train  # heavy imports only once the config is known to be sound
        from ftexp.utils.hydra_ddp import ddp_ready_multirun_job

        route_library_output()
        if HydraConfig.initialized():
            logging.getLogger("ftexp").info(choices_line(HydraConfig.get().runtime.choices))
        try:
            with ddp_ready_multirun_job():
                metrics = train(cfg, parts)
        except NonFiniteLossError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(3)
    metric = cfg.get("optimized_metric")
    if not metric:
        return None
    return metrics.get(f"best/{metric}", metrics.get(metric))  # the checkpoint that was kept


def _check_before_heavy_imports(cfg: DictConfig) -> Parts:
    """The checks that need no torch, then the data read: bad input is refused in seconds."""
    from ftexp.utils.config_check import check_light

    parts = check_light(cfg)
    parts.data.load()  # a DataError (bad row, one class, empty split) before any import
    return parts


if __name__ == "__main__":
    main()
