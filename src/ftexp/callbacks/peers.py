"""A rank that dies or stops answering ends the whole job within seconds, cleanly.

Without this, the survivors of a lost rank wait in their next collective: gloo notices a
closed socket after a few seconds and raises a traceback; NCCL waits for its timeout (30
minutes by default) - the hang users of multi-GPU jobs report. Here every rank keeps a
heartbeat in the job's own rendezvous store (the ``TCPStore`` of ``torch.distributed``) and
watches the others': a peer on the same host whose process is gone is found within
``interval_s``; one on another host whose heartbeat is older than ``lost_after_s``; rank 0's
store going away means rank 0 is gone. A survivor then prints one line naming the lost rank
and the resume command, and exits with code 2 at once (a rank stuck inside a collective never
returns to Python, so there is nothing to unwind). A rank that is alive but stuck is ended by
the strategy's collective ``timeout`` (``trainer=ddp``/``fsdp`` set 60 s).

Lightning's launcher also watches the ranks it started (every 5 s) and, when one has died,
SIGKILLs all of them and itself: whichever watch saw the death first decided whether the job
ended with this message and exit 2 or silently with -9. Its watch is pointed at the same ending.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from subprocess import Popen
from typing import Any

import lightning as L

from ftexp.infra.cluster import LAST_CHECKPOINT
from ftexp.utils.processes import process_alive

KEY = "ftexp/peer/{rank}"


class PeerWatch(L.Callback):
    """Heartbeats between the ranks of a multi-process run; a lost one ends the job (exit 2)."""

    def __init__(self, interval_s: float = 0.5, lost_after_s: float = 30.0) -> None:
        self.interval_s, self.lost_after_s = interval_s, lost_after_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Start watching once the process group exists (several ranks only)."""
        import torch.distributed as dist

        if trainer.world_size < 2 or not dist.is_initialized() or self._thread is not None:
            return
        from torch.distributed.distributed_c10d import _get_default_store

        store = _get_default_store()
        run_dir = Path(trainer.default_root_dir)
        _end_like_the_watch(trainer.node_rank * trainer.num_devices, run_dir)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watch,
            args=(store, trainer.global_rank, trainer.world_size, run_dir),
            name="ftexp-peer-watch",
            daemon=True,
        )
        self._thread.start()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Stop watching once every rank got here (so none mistakes a finished peer for lost)."""
        if self._thread is None:
            return
        trainer.strategy.barrier("ftexp-peer-watch")  # still watched: a loss here ends the job
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """A collective failing because a peer died: let the watch name the peer first.

        gloo raises in this rank within milliseconds of a peer's death; a few heartbeats later
        the watch has found which rank it was and ends the job with that message instead of
        a traceback. Any other exception goes on as it came.
        """
        if self._thread is not None and not isinstance(exception, SystemExit):
            self._stop.wait(4 * self.interval_s)

    def _watch(self, store: Any, rank: int, world: int, run_dir: Path) -> None:
        host, pid = socket.gethostname(), os.getpid()
        beats: dict[int, bytes] = {}  # each peer's last heartbeat as read
        changed: dict[int, float] = {}  # when (on this clock) it last changed
        started = time.monotonic()
        beat = 0
        while not self._stop.is_set():
            beat += 1
            for peer, value in beats.items():  # before the store: it may have died with rank 0
                peer_host, peer_pid, _ = value.decode().split()
                if peer_host == host and not process_alive(int(peer_pid)):
                    _lost(peer, f"its process {peer_pid} ended", run_dir)
            try:
                store.set(KEY.format(rank=rank), f"{host} {pid} {beat}")
                for peer in range(world):
                    if peer != rank and store.check([KEY.format(rank=peer)]):
                        value = store.get(KEY.format(rank=peer))
                        if beats.get(peer) != value:
                            beats[peer], changed[peer] = value, time.monotonic()
            except Exception:  # the store lives in rank 0's process: it is gone
                if not self._stop.is_set() and rank != 0:
                    _lost(0, "its process ended (the job's store went away with it)", run_dir)
                return
            for peer in beats:
                silent = time.monotonic() - changed[peer]
                if silent > self.lost_after_s:
                    _lost(peer, f"no heartbeat for {silent:.0f} s", run_dir)
            missing = [p for p in range(world) if p != rank and p not in beats]
            if missing and time.monotonic() - started > self.lost_after_s:
                _lost(missing[0], f"it never answered in {self.lost_after_s:.0f} s", run_dir)
            self._stop.wait(self.interval_s)


def _lost(peer: int, why: str, run_dir: Path) -> None:
    """Say which rank was lost and how to resume; leave at once with exit code 2."""
    last = run_dir / LAST_CHECKPOINT
    resume = (
        f"resume with the same command plus ckpt_path={last}"
        if last.is_file()
        else "no checkpoint was saved yet: run the same command again"
    )
    print(f"error: rank {peer} was lost ({why}); the job stops here; {resume}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(2)


def _end_like_the_watch(first_rank: int, run_dir: Path) -> None:
    """Make Lightning's watch over the ranks it started end the job as ``_lost`` does.

    ``first_rank`` is this node's rank 0 (the launcher); its children are the ranks after it.
    """
    from lightning.fabric.strategies.launchers.subprocess_script import _ChildProcessObserver

    for observer in threading.enumerate():
        if isinstance(observer, _ChildProcessObserver):
            children: list[Popen[bytes]] = observer._child_processes

            def end_all(children: list[Popen[bytes]] = children) -> None:
                dead = next(i for i, child in enumerate(children) if child.returncode)
                for child in children:  # a survivor may be stuck in a collective
                    if child.poll() is None:
                        child.send_signal(signal.SIGKILL)
                code = children[dead].returncode
                _lost(first_rank + 1 + dead, f"its process ended with code {code}", run_dir)

            observer._terminate_all = end_all
