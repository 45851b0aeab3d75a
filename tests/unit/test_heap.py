"""speed.trim_heap: freed heap memory goes back to the OS."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

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
