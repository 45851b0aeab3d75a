"""Whether a process on this host still runs."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: a zombie (dead, not yet reaped by its parent) does not.

    Another user's process counts as running (it cannot be signalled, but it exists).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text().split("State:")[1].splitlines()[0]
    except (OSError, IndexError):
        return True
