"""A study's jobs and their kept results: each job run once, its result kept by its config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftexp.study.keys import job_key, plain_config, still_holds
from ftexp.study.report import folder_mb
from ftexp.utils.io import atomic_write_text


@dataclass(frozen=True)
class Job:
    """One training run of the study."""

    method: str
    lr: float | None
    seed: int
    overrides: tuple[str, ...]
    baseline: bool = False  # ``method`` names a ``+baseline=`` config: nothing to tune

    def arguments(self) -> list[str]:
        """The ``python -m ftexp`` overrides of this job."""
        if self.baseline:
            return [*self.overrides, f"+baseline={self.method}", f"seed={self.seed}"]
        return [
            *self.overrides,
            f"method={self.method}",
            f"optim.lr={self.lr:g}",
            f"seed={self.seed}",
        ]


def compose(arguments: list[str]) -> Any:
    """The job's config, composed as the command line composes it (no run dir created).

    A ``data.path``/``data.hub_id`` among ``arguments`` replaces the data option's own source,
    as it does in the job's run.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from ftexp.data.given_source import prefer_given_source

    with initialize_config_module("ftexp.conf", version_base="1.3"):
        cfg = hydra_compose("train", overrides=arguments)
    prefer_given_source(cfg, arguments)
    return cfg


@dataclass
class JobStore:
    """The results of a study's jobs, kept under ``<root>/results/<key>.json``.

    A job is keyed by its whole composed config: a rerun (or a killed study started again)
    runs only what is missing, a job interrupted after a checkpoint resumes from its
    ``last.ckpt``, and a failure is kept with its reason (``retry_failed`` runs it again).
    """

    root: Path
    retry_failed: bool = False
    kept_only: bool = False  # run nothing: the table of what is kept (e.g. of a running study)
    ran: int = 0
    _defaults: dict[str, Any] | None = None  # the base config, composed once when first needed
    # the done results found when first needed, by job: (file, result)
    _kept_done: dict[str, list[tuple[Path, dict[str, Any]]]] | None = None

    def result(self, job: Job) -> dict[str, Any]:
        """The job's result: kept from an earlier run, or from running it now."""
        outcome = self._result(job, wait=True)
        assert outcome is not None  # a waiting claim always gets the job
        return outcome

    def results(self, jobs: list[Job]) -> list[dict[str, Any]]:
        """The results of jobs that do not depend on each other (a rate grid, the seeds).

        A job another study on this folder is running is passed over and waited for after
        the rest, so studies started side by side share the jobs instead of queueing on each.
        """
        free = [self._result(job, wait=False) for job in jobs]
        return [got or self.result(job) for job, got in zip(jobs, free, strict=True)]

    def _result(self, job: Job, wait: bool) -> dict[str, Any] | None:
        """The job's result; None where ``wait`` is off and another study holds the job."""
        try:
            cfg = compose(job.arguments())
        except Exception as err:  # the config cannot even be composed: a failed row
            return {"status": "failed", "reason": first_line(err), "job": job.__dict__}
        config = plain_config(cfg)
        key = job_key(config)
        stored = self.root / "results" / f"{key}.json"
        if not stored.is_file():
            self._adopt_older(job, config, stored)
        if stored.is_file():
            kept: dict[str, Any] = json.loads(stored.read_text(encoding="utf-8"))
            if kept["status"] == "done" or not self.retry_failed:
                return kept
        if self.kept_only:
            return {"status": "missing", "job": job.__dict__}
        before = stored.read_text(encoding="utf-8") if stored.is_file() else None
        run_dir = self.root / "jobs" / key
        with _claimed(run_dir, wait) as claimed:
            if not claimed:
                return None
            now = stored.read_text(encoding="utf-8") if stored.is_file() else None
            if now is not None and now != before:
                return json.loads(now)  # another study ran it while this one waited
            outcome = {**self._run(job, run_dir), "config": config}
            _write_atomically(stored, outcome)
        return outcome

    def _adopt_older(self, job: Job, config: dict[str, Any], stored: Path) -> None:
        """Keep under ``stored`` a done result of this job whose older config still holds.

        Kept by an earlier ftexp version: its key differs only because a config key was added
        since, at its default (``still_holds``). Its config is the one it recorded, or its run
        dir's ``.hydra/config.yaml`` for results kept before configs were recorded.
        """
        from omegaconf import OmegaConf

        if self._defaults is None:
            self._defaults = plain_config(compose([]))
        for path, kept in self._done_by_job(stored.parent).get(_identity(job.__dict__), []):
            older = kept.get("config")
            recorded = Path(kept["run_dir"]) / ".hydra" / "config.yaml"
            if older is None and recorded.is_file():
                older = plain_config(OmegaConf.load(recorded))
            if older is not None and still_holds(older, config, self._defaults):
                adopted = {**kept, "config": config, "adopted_from": path.stem}
                _write_atomically(stored, adopted)
                print(f"[study] {job.method} seed={job.seed}: kept as {path.stem}", flush=True)
                return

    def _done_by_job(self, results: Path) -> dict[str, list[tuple[Path, dict[str, Any]]]]:
        """The done results kept when first asked, by job; read once, not once per job.

        Results written later need no entry: each is under its job's current key already.
        """
        if self._kept_done is None:
            self._kept_done = {}
            for path in sorted(results.glob("*.json")):
                kept = json.loads(path.read_text(encoding="utf-8"))
                if kept.get("status") == "done":
                    self._kept_done.setdefault(_identity(kept["job"]), []).append((path, kept))
        return self._kept_done

    def _run(self, job: Job, run_dir: Path) -> dict[str, Any]:
        arguments = [*job.arguments(), f"hydra.run.dir={run_dir}"]
        last = run_dir / "checkpoints" / "last.ckpt"
        if last.is_file():  # the study was stopped while this job trained: continue it
            arguments.append(f"ckpt_path={last}")
        elif run_dir.exists():  # stopped before its first checkpoint: nothing to continue
            shutil.rmtree(run_dir)
        self.ran += 1
        rate = "" if job.lr is None else f" lr={job.lr:g}"
        print(f"[study] {job.method}{rate} seed={job.seed} -> {run_dir}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "ftexp", *arguments], capture_output=True, text=True, check=False
        )
        base = {"job": job.__dict__, "run_dir": str(run_dir)}
        metrics_file = run_dir / "metrics.json"
        if done.returncode != 0 or not metrics_file.is_file():
            reason = _last_line(done.stderr) or f"exit code {done.returncode}"
            return {**base, "status": "failed", "reason": reason}
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        saved = run_dir / "model"
        metrics["saved_mb"] = folder_mb(saved) if saved.is_dir() else 0.0
        return {**base, "status": "done", "metrics": metrics}


def _identity(job: dict[str, Any]) -> str:
    """A job's method, rate and seed as one comparable string.

    These pick the kept results whose configs ``still_holds`` compares; the overrides are left
    out because they may be spelt otherwise (e.g. by an experiment) for the same config.
    """
    return json.dumps({k: v for k, v in job.items() if k != "overrides"}, sort_keys=True)


@contextmanager
def _claimed(run_dir: Path, wait: bool = True) -> Iterator[bool]:
    """Hold a job (by its run dir) while it runs or is timed: studies sharing a directory.

    A second study waits for the job, then takes its result, instead of running it again (and
    clearing its run dir mid-run, as a job dir without a checkpoint is cleared). With ``wait``
    off it yields False at once where another study holds the job, True once it holds it.
    """
    import fcntl

    lock = run_dir.with_name(f"{run_dir.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:  # released when the file closes, or the process dies
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _write_atomically(path: Path, result: dict[str, Any]) -> None:
    """Write a result whole: a study killed here keeps the job's old state, never half a file."""
    atomic_write_text(path, json.dumps(result, indent=2, default=str))


def latency(run_dirs: list[Path], measure: bool = True) -> dict[str, dict[str, float]] | None:
    """The saved model's inference timings (``python -m ftexp.cli.latency``) of a method's row.

    Taken from the first of its runs (seeds) that keeps them, else measured on the first whose
    saved model is still on disk, so a seed's run dir cleaned away costs the row nothing.
    ``measure=False`` reads kept timings only (a ``--kept-only`` table runs nothing).
    """

    def kept(run_dir: Path) -> dict[str, dict[str, float]] | None:
        path = run_dir / "latency.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    timed = next(filter(None, map(kept, run_dirs)), None)
    if timed is not None or not measure:
        return timed
    for run_dir in run_dirs:
        if not (run_dir / "model").is_dir():
            continue
        with _claimed(run_dir):  # a study beside this one
            if (timed := kept(run_dir)) is None:  # may have timed it while this one waited
                command = [sys.executable, "-m", "ftexp.cli.latency", str(run_dir)]
                subprocess.run(command, capture_output=True, check=False)
                timed = kept(run_dir)
        if timed is not None:
            return timed
    return None


def first_line(err: BaseException) -> str:
    """The first line of an error's message (a failed row's reason)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
