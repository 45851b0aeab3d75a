"""Command line: ``python -m ftexp [group=option ...] [key=value ...]``."""

from __future__ import annotations

import logging
import os
import secrets
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from ftexp.errors import ConfigError, refusals

# one id per launching process: runs started in the same second get different run dirs
# (DDP ranks inherit the launcher's resolved ``hydra.run.dir``, so they share its dir)
RUN_ID = f"{os.getpid() % 10000:04d}{secrets.token_hex(1)}"
OmegaConf.register_new_resolver("run_id", lambda: RUN_ID, replace=True)


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Train one configuration; return the optimised metric for Hydra sweepers."""
    with refusals():
        _check_before_heavy_imports(cfg)
        from ftexp.callbacks.guards import NonFiniteLossError
        from ftexp.run import train  # heavy imports only once the config is known to be sound
        from ftexp.utils.hydra_ddp import ddp_ready_multirun_job

        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # Hydra prints them
            logging.getLogger(name).handlers.clear()
        try:
            with ddp_ready_multirun_job():
                metrics = train(cfg)
        except NonFiniteLossError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(3)
    metric = cfg.get("optimized_metric")
    if not metric:
        return None
    return metrics.get(f"best/{metric}", metrics.get(metric))  # the checkpoint that was kept


def _check_before_heavy_imports(cfg: DictConfig) -> None:
    """The config checks that need no torch: a bad value is refused in about a second."""
    from ftexp.utils.config_check import check_components

    _, problems = check_components(cfg)
    if problems:
        raise ConfigError(problems)


if __name__ == "__main__":
    main()
