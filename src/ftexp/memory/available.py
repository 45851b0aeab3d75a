"""How much memory one device of this run can use: RAM on CPU, free GPU memory on CUDA."""

from __future__ import annotations

import os
from pathlib import Path

from ftexp.callbacks.resources import current_rss_mb

MIB = 2**20


def process_bytes() -> int:
    """Resident memory of this process now (the interpreter, libraries and data)."""
    return int(current_rss_mb() * MIB)


def host_available_bytes() -> int:
    """RAM this process could reach: what it holds plus what the host (or its cgroup) has free."""
    free = _meminfo_available()
    limit = _cgroup_room()
    if limit is not None:
        free = min(free, limit)
    return free + process_bytes()


def cuda_free_bytes() -> int:
    """Free memory of this process's GPU (its ``LOCAL_RANK``), as the driver reports it."""
    import torch

    device = int(os.environ.get("LOCAL_RANK", "0")) % max(torch.cuda.device_count(), 1)
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def _meminfo_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def _cgroup_room() -> int | None:
    """Room left under a cgroup v2 or v1 memory limit (containers, SLURM jobs), if any."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            return max(int(limit) - usage, 0)
    return None
