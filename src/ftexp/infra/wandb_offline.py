"""Read W&B offline run files (``run-*.wandb``) back: run id, config, history, summary.

The file is a LevelDB-style log: a 7-byte header (``:W&B``, magic 0xBEE1, version), then 32 KiB
blocks of records (crc32, length, type: full/first/middle/last) whose payloads are
``wandb_internal_pb2.Record`` protobufs. No W&B server or login is needed.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
FILE_HEADER = struct.Struct("<4sHB")
RECORD_HEADER = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


@dataclass
class OfflineRun:
    """What an offline W&B run recorded."""

    run_id: str = ""
    name: str = ""
    group: str = ""
    job_type: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    finished: bool = False  # its exit record is written: nothing more will come


def payloads(path: Path) -> list[bytes]:
    """The record payloads of a ``.wandb`` file, reassembled across blocks.

    W&B's service may still be writing the file after ``finish()`` returned: a record whose
    checksum does not match is where the written part ends.
    """
    data = path.read_bytes()
    ident, magic, _ = FILE_HEADER.unpack_from(data, 0)
    if ident != b":W&B" or magic != 0xBEE1:
        raise ValueError(f"{path} is not a W&B run file (header {ident!r}, magic {magic:#x})")
    out, pending, offset = [], b"", FILE_HEADER.size
    while offset + RECORD_HEADER.size <= len(data):
        room = BLOCK - offset % BLOCK
        if room < RECORD_HEADER.size:  # block trailer: skip to the next block
            offset += room
            continue
        crc, length, kind = RECORD_HEADER.unpack_from(data, offset)
        offset += RECORD_HEADER.size
        chunk, offset = data[offset : offset + length], offset + length
        if kind in (FULL, FIRST, MIDDLE, LAST) and crc != zlib.crc32(
            chunk, zlib.crc32(bytes([kind]))
        ):
            break
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            out.append(pending + chunk)
            pending = b""
        else:  # zero padding at the end of a block
            offset += room - RECORD_HEADER.size - length
    return out


def read_offline_run(path: Path, wait_s: float = 60.0) -> OfflineRun:
    """Decode a ``run-*.wandb`` file with W&B's own protobuf schema.

    Waits up to ``wait_s`` for W&B's service to write the run's last record.
    """
    deadline = time.monotonic() + wait_s
    run = _decode(path)
    while not run.finished and time.monotonic() < deadline:
        time.sleep(0.2)
        run = _decode(path)
    return run


def _decode(path: Path) -> OfflineRun:
    from wandb.proto import wandb_internal_pb2 as pb

    run = OfflineRun()
    for payload in payloads(path):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.run_id = record.run.run_id
            run.name, run.group = record.run.display_name, record.run.run_group
            run.job_type, run.tags = record.run.job_type, list(record.run.tags)
            run.config.update(_items(record.run.config.update))
        elif kind == "config":
            run.config.update(_items(record.config.update))
        elif kind == "history":
            run.history.append(_items(record.history.item))
        elif kind == "summary":
            run.summary.update(_items(record.summary.update))
        elif kind == "exit":
            run.finished = True
    return run


def _items(items: Any) -> dict[str, Any]:
    out = {}
    for item in items:
        key = item.key or "/".join(item.nested_key)
        try:
            out[key] = json.loads(item.value_json)
        except ValueError:
            out[key] = item.value_json
    return out
