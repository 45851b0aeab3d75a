"""User errors: each is refused with exit code 2 and one message naming the problem and the fix.

Every entry point runs inside ``refusals()``: a ``UserError`` (bad config, bad data, an
unusable checkpoint, a run dir that holds another run) prints its message and exits with code 2,
with no traceback; any other exception keeps its traceback, because it is a bug.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """Something the user can fix; the message says what and how."""


class ConfigError(UserError, ValueError):
    """The composed config is invalid. The message lists every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid config ({len(self.problems)} problem(s)):\n{lines}")


class DataError(UserError, ValueError):
    """A data file is malformed. The message names the file, the line and the fix."""

    def __init__(self, path: object, problem: str, line: int | None = None, fix: str = "") -> None:
        where = f"{path}, line {line}" if line is not None else f"{path}"
        text = f"{where}: {problem}"
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)
        self.path, self.line = path, line


class RunError(UserError):
    """The run cannot start or continue as asked (its dir, its checkpoint, a finished run)."""


def distributed_rank() -> int | None:
    """This process's rank when it is one of several launched processes, else None."""
    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(key, "").isdigit() and int(os.environ.get("WORLD_SIZE", "2")) > 1:
            return int(os.environ[key])
    return None


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a ``UserError`` into a clean refusal: the message on stderr, exit code 2.

    In a multi-process run every rank meets the same (deterministic) error; each leaves at
    once with ``os._exit`` so that no rank waits in a collective for a peer that is gone.
    """
    try:
        yield
    except UserError as err:
        text = str(err)
        print(text if text.startswith("Invalid config") else f"error: {text}", file=sys.stderr)
        sys.stderr.flush()
        if distributed_rank() is not None:
            os._exit(2)
        raise SystemExit(2) from None
