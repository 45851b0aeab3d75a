"""Trackers that need an account are checked for one before the run starts (no import of them).

W&B in ``online`` mode without an API key fails when the logger first starts, after the data
and model have loaded, through Hydra's error path. The key is looked for where W&B itself
looks: ``WANDB_API_KEY``, then the netrc entry ``wandb login`` writes for the W&B host.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

from omegaconf import DictConfig

WANDB_TARGET = "lightning.pytorch.loggers.WandbLogger"


def tracker_problems(loggers: DictConfig | None) -> list[str]:
    """A problem for each tracker that would need a login this machine does not have."""
    issues = []
    for name, node in (loggers or {}).items():
        if not isinstance(node, DictConfig) or node.get("_target_") != WANDB_TARGET:
            continue
        mode = str(node.get("mode") or os.environ.get("WANDB_MODE", "online"))
        if mode == "online" and not wandb_logged_in():
            issues.append(
                f"logger.{name}.mode=online but this machine has no W&B login; run "
                "`wandb login` (or set WANDB_API_KEY), or log offline with "
                f"logger.{name}.mode=offline and `wandb sync` later"
            )
    return issues


def wandb_logged_in() -> bool:
    """Whether W&B would find an API key: the environment, or the netrc entry for its host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc")).expanduser()
    if not path.is_file():
        return False
    try:
        return netrc.netrc(str(path)).authenticators(host) is not None
    except (netrc.NetrcParseError, OSError):
        return False
