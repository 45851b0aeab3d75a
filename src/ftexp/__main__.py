"""Command line: ``python -m ftexp [group=option ...] [key=value ...]``."""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from ftexp.errors import ConfigError


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Train one configuration; return the optimised metric for Hydra sweepers."""
    from ftexp.callbacks.guards import NonFiniteLossError
    from ftexp.run import train  # heavy imports after Hydra has parsed the command line
    from ftexp.utils.hydra_ddp import ddp_ready_multirun_job

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):  # Hydra prints them
        logging.getLogger(name).handlers.clear()
    try:
        with ddp_ready_multirun_job():
            metrics = train(cfg)
    except ConfigError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    except NonFiniteLossError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(3)
    metric = cfg.get("optimized_metric")
    if not metric:
        return None
    return metrics.get(f"best/{metric}", metrics.get(metric))  # the checkpoint that was kept


if __name__ == "__main__":
    main()
