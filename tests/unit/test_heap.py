"""speed.trim_heap and speed.give_back_memory: freed heap memory goes back to the OS."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftexp.memory.check import heap_gives_back
from ftexp.memory.estimate import MemoryEstimate
from ftexp.memory.heap import TrimHeap, trim_heap
from ftexp.speed import SpeedConfig


def resident_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_trimming_returns_the_pages_of_freed_blocks_below_a_live_one() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64 * 1024  # under glibc's mmap threshold: from the heap
    blocks = [libc.malloc(size) for _ in range(2000)]  # 125 MiB
    for block in blocks:
        ctypes.memset(block, 1, size)
    for block in blocks[:-1]:  # the last one stays: the heap's top cannot shrink past it
        libc.free(block)
    held = resident_mb()
    assert trim_heap()
    released = held - resident_mb()
    libc.free(blocks[-1])
    assert released > 100  # of the 125 MiB freed


def test_the_speed_setting_adds_the_callback() -> None:
    assert [type(c) for c in SpeedConfig(trim_heap=True).callbacks()] == [TrimHeap]
    assert SpeedConfig().callbacks() == []  # off by default: it costs speed


# run in a process of its own: the setting holds for the rest of the process it is made in
FREED_BLOCKS = """
import ctypes, ctypes.util, os, sys
from pathlib import Path
from ftexp.memory.heap import give_back_freed_blocks

def resident_mb():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "on":
    assert give_back_freed_blocks()
big = libc.malloc(16 << 20)  # mapped, and once freed glibc serves blocks up to 16 MiB from its heap
ctypes.memset(big, 1, 16 << 20)
libc.free(big)
size = 256 * 1024
blocks = [libc.malloc(size) for _ in range(500)]  # 125 MiB, as a step's activations
for block in blocks:
    ctypes.memset(block, 1, size)
held = resident_mb()
for block in blocks[:-1]:
    libc.free(block)
print(held - resident_mb())
"""


def released_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FREED_BLOCKS, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def test_giving_back_freed_blocks_returns_their_pages_at_once() -> None:
    assert released_mb("on") > 100  # of the 125 MiB freed, with no trim
    assert released_mb("off") < 20  # glibc's default keeps them: what the setting is for


@pytest.mark.parametrize(
    ("setting", "estimate_gib", "checkpointed", "expected"),
    [
        (None, 4, False, False),  # 4 x 1.7 fits 10
        (None, 7, False, True),  # 7 fits, 7 x 1.7 does not
        (None, 4, True, True),  # checkpointed, glibc keeps up to 3x
        (None, 12, False, False),  # over the estimate already: refused, not slowed
        (True, 1, False, True),  # asked for
        (False, 9, True, False),  # declined
        (True, None, False, True),  # asked for, with trainer.memory_check=off
        (None, None, False, False),  # no estimate to decide by
    ],
)
def test_glibc_gives_back_where_its_keep_would_not_fit(
    setting: bool | None, estimate_gib: int | None, checkpointed: bool, expected: bool
) -> None:
    estimate = None if estimate_gib is None else MemoryEstimate(activations=estimate_gib * 2**30)
    assert heap_gives_back(setting, estimate, 10 * 2**30, checkpointed) is expected
