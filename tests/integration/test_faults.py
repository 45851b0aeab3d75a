"""Real faults: SIGTERM, a kill inside a checkpoint write, a full disk, a lost DDP rank.

Each is caused for real (a signal, ``kill -9`` timed on the checkpoint's temporary file, a
write-size limit or a small tmpfs, ``kill -9`` of one rank) and the run is resumed from the
``last.ckpt`` it left, which must end exactly like an uninterrupted run.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY, finished, refused, resume_outcome, start_ftexp

RUN = [*TINY, "method=lora", "trainer.max_epochs=3", "data.batch_size=8", "save_model=false"]
LONG = ["trainer.max_epochs=40", "callbacks.early_stopping.patience=1000"]  # killed before its end
TWO_RANKS = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert path.exists(), f"{path} never appeared"


def _loads(path: Path) -> int:
    """The global step of a checkpoint that ``torch.load`` reads whole."""
    return int(torch.load(path, weights_only=True)["global_step"])


def test_sigterm_saves_after_the_step_says_how_to_resume_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    reference, stopped = tmp_path / "reference", tmp_path / "stopped"
    # long enough that the signal lands in training (3 epochs can end within the sleep)
    run = [*RUN, "trainer.max_epochs=12", "callbacks.early_stopping.patience=1000"]
    finished(start_ftexp(*run, f"hydra.run.dir={reference}"))
    victim = start_ftexp(*run, f"hydra.run.dir={stopped}")
    last = stopped / "checkpoints" / "last.ckpt"
    _wait_for(last, victim)
    time.sleep(0.3)  # into the next steps, past the validation that wrote it
    sent = time.monotonic()
    victim.send_signal(signal.SIGTERM)
    out, _ = victim.communicate(timeout=60)
    print(f"SIGTERM to exit: {time.monotonic() - sent:.2f} s")
    assert victim.returncode == 128 + signal.SIGTERM, out[-3000:]
    assert "Traceback" not in out
    assert f"SIGTERM: stopped at step {_loads(last)}; resume with" in out
    assert f"ckpt_path={last}" in out
    assert not (stopped / "metrics.json").exists()

    finished(start_ftexp(*run, f"hydra.run.dir={stopped}", f"ckpt_path={last}"))
    assert resume_outcome(stopped) == resume_outcome(reference)


def test_a_kill_inside_a_checkpoint_write_leaves_the_previous_checkpoint_whole(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    # a save every step: many writes to time the kill into
    victim = start_ftexp(*RUN, *LONG, "trainer.val_check_interval=1", f"hydra.run.dir={run}")
    folder, last = run / "checkpoints", run / "checkpoints" / "last.ckpt"
    _wait_for(last, victim)
    deadline = time.monotonic() + 120
    caught = None
    while caught is None and time.monotonic() < deadline and victim.poll() is None:
        caught = next((n for n in os.listdir(folder) if n.endswith(".tmp")), None)
    victim.kill()
    victim.communicate(timeout=60)
    assert caught is not None, "no checkpoint write was caught in progress"
    assert _loads(last) > 0  # the previous last.ckpt, whole
    for ckpt in folder.glob("*.ckpt"):
        _loads(ckpt)  # no checkpoint file is cut short
    finished(start_ftexp(*RUN, f"hydra.run.dir={run}", f"ckpt_path={last}"))
    assert not list(folder.glob(".*.tmp"))  # the next save cleared the one the kill left


def test_a_save_beyond_the_write_limit_is_refused_cleanly(tmp_path: Path) -> None:
    run = tmp_path / "run"
    limit = 100 * 1024  # below a checkpoint (~240 KB), above the config and logs

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    stderr = refused(*RUN, f"hydra.run.dir={run}", preexec_fn=limited)
    for words in ("could not write", "File too large", "free there", "resume with ckpt_path=last"):
        assert words in stderr
    folder = run / "checkpoints"
    assert not list(folder.glob("*.ckpt"))  # no half-written checkpoint
    assert not list(folder.glob(".*.tmp"))


def _mount_tmpfs(path: Path, size: int) -> bool:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return mounted.returncode == 0


def test_a_full_disk_keeps_the_previous_checkpoints_loadable_and_the_run_resumes(
    tmp_path: Path,
) -> None:
    reference = tmp_path / "reference"
    finished(start_ftexp(*RUN, f"hydra.run.dir={reference}"))
    size = (reference / "checkpoints" / "last.ckpt").stat().st_size
    disk = tmp_path / f"small-disk-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(disk, 2 * size + 96 * 1024):  # room for the first best + last only
        pytest.skip("mounting a tmpfs needs root")
    try:
        run = disk / "run"
        stderr = refused(*RUN, f"hydra.run.dir={run}")
        assert "could not write" in stderr
        assert "No space left on device" in stderr
        kept = sorted((run / "checkpoints").glob("*.ckpt"))
        assert kept  # the files of the first validation, whole
        assert all(_loads(p) > 0 for p in kept)
        assert not list((run / "checkpoints").glob(".*.tmp"))
        # the user makes room (here: the disk grows) and resumes in place
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        last = run / "checkpoints" / "last.ckpt"
        finished(start_ftexp(*RUN, f"hydra.run.dir={run}", f"ckpt_path={last}"))
        assert resume_outcome(run) == resume_outcome(reference)
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _rank1(launcher: int) -> int:
    """The pid of the rank the launcher (rank 0) started."""
    children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
    return next(int(p) for p in children if "ftexp" in Path(f"/proc/{p}/cmdline").read_text())


@pytest.mark.parametrize("lost", [1, 0], ids=["rank1", "rank0"])
def test_a_lost_ddp_rank_ends_the_job_in_seconds_with_one_message(
    tmp_path: Path, lost: int
) -> None:
    run = tmp_path / "run"
    job = start_ftexp(*RUN, *LONG, *TWO_RANKS, f"hydra.run.dir={run}")
    last = run / "checkpoints" / "last.ckpt"
    _wait_for(last, job)
    killed = _rank1(job.pid) if lost == 1 else job.pid
    sent = time.monotonic()
    os.kill(killed, signal.SIGKILL)
    # rank 1 shares the launcher's output pipe: this returns once the survivor has left too
    out, _ = job.communicate(timeout=120)
    code = job.returncode if lost == 1 else None  # an orphaned rank 1's code reaches no one
    seconds = time.monotonic() - sent
    print(f"rank {lost} lost -> job ended in {seconds:.2f} s")
    assert seconds < 60
    assert f"error: rank {lost} was lost" in out, (job.returncode, out[-3000:])
    assert f"ckpt_path={last}" in out
    if code is not None:
        assert code == 2
        assert "Traceback" not in out


def test_a_lost_rank_seen_first_by_lightnings_launcher_ends_the_job_the_same_way(
    tmp_path: Path,
) -> None:
    # the heartbeat is slowed so that the launcher's own watch (every 5 s) sees the death first
    run = tmp_path / "run"
    slow_watch = "callbacks.peer_watch.interval_s=60"
    job = start_ftexp(*RUN, *LONG, *TWO_RANKS, slow_watch, f"hydra.run.dir={run}")
    _wait_for(run / "checkpoints" / "last.ckpt", job)
    os.kill(_rank1(job.pid), signal.SIGKILL)
    out, _ = job.communicate(timeout=120)
    assert job.returncode == 2, out[-3000:]
    assert "error: rank 1 was lost (its process ended with code -9)" in out
    assert "Traceback" not in out


def test_a_ddp_run_resumed_after_losing_a_rank_ends_like_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    finished(start_ftexp(*RUN, *TWO_RANKS, f"hydra.run.dir={reference}"))
    job = start_ftexp(*RUN, *TWO_RANKS, f"hydra.run.dir={resumed}")
    last = resumed / "checkpoints" / "last.ckpt"
    _wait_for(last, job)
    os.kill(_rank1(job.pid), signal.SIGKILL)
    out, _ = job.communicate(timeout=120)
    assert job.returncode == 2, out[-3000:]
    finished(start_ftexp(*RUN, *TWO_RANKS, f"hydra.run.dir={resumed}", f"ckpt_path={last}"))
    assert resume_outcome(resumed) == resume_outcome(reference)
