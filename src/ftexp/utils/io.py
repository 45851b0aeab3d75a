"""Small file helpers: every file a run keeps is written whole or not at all."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ftexp.errors import RunError
from ftexp.utils.processes import process_alive

# a write that fails for lack of room (or of a quota or size limit) is the user's to fix
NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


@contextmanager
def room_to_write(path: Path) -> Iterator[None]:
    """Turn a write that found no room into a ``RunError`` naming the path and the free space."""
    try:
        yield
    except OSError as err:
        if err.errno not in NO_ROOM:
            raise
        raise RunError(
            f"could not write {path}: {err.strerror} ({free_space(path)} free there); the "
            "files saved before it are intact. Free space (or raise the quota, `ulimit -f`) "
            "and resume with ckpt_path=last"
        ) from None


def free_space(path: Path) -> str:
    """The free space of the filesystem holding ``path``, in words (``1.2 GiB``)."""
    folder = path if path.is_dir() else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = float(shutil.disk_usage(folder).free)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if free < 1024 or unit == "TiB":
            return f"{free:.1f} {unit}" if unit != "B" else f"{free:.0f} B"
        free /= 1024
    raise AssertionError("unreachable")


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a hidden temporary file beside it, fsync'd, then renamed.

    A process killed mid-write, or a write that meets a full disk, leaves the previous
    ``path`` as it was (and no temporary file, except after ``kill -9``: the next write of the
    same path removes those). The temporary name carries the writer's process id, so a write
    running in another process (two studies sharing a directory) keeps its own.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if not _writer_alive(stale):
            stale.unlink(missing_ok=True)
    prefix = f".{path.name}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with room_to_write(path), os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; run files are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _writer_alive(temporary: Path) -> bool:
    """Whether the process that named ``temporary`` (``.<name>.<pid>.<random>.tmp``) still runs."""
    pid = temporary.name.rsplit(".", 3)[-3]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    return process_alive(int(pid))


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (``atomic_write``)."""
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


@contextmanager
def replaced_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder that replaces ``path`` when the block completes.

    Until then ``path`` keeps its old contents; on an error the temporary folder is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    os.chmod(tmp, 0o755)  # mkdtemp creates 0700; run files are meant to be shared
    try:
        with room_to_write(path):
            yield tmp
        old = path.with_name(f".{path.name}.old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
