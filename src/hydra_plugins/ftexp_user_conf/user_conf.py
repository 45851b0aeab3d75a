"""Put ``./conf`` (or ``$FTEXP_CONF``) first on Hydra's search path when it exists.

So ``conf/experiment/my_run.yaml`` runs as ``experiment=my_run``, and ``conf/method/lora.yaml``
shadows the packaged option; the packaged defaults stay inside the wheel for everything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class UserConfSearchPath(SearchPathPlugin):
    """Prepends the user's config folder, if there is one, to every app's search path."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        """Add ``./conf`` (or ``$FTEXP_CONF``) in front of the packaged configs."""
        folder = Path(os.environ.get("FTEXP_CONF", "conf")).expanduser().resolve()
        if folder.is_dir():
            search_path.prepend(provider="ftexp-user", path=f"file://{folder}")
