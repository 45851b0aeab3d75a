"""``python -m ftexp.study <dir>``: a fair, resumable method comparison.

For each method: a learning-rate search on the validation split (the method's own rate times
each ``--lr-factors``, first seed; with ``--widen N``, up to N more rates past the grid's edge
while the best is on it), then every ``--seeds`` at the best rate; the table gives test
accuracy and F1 as mean +- std over seeds, with cost columns and a flag for runs that collapsed
to one class. Each job is keyed by its resolved config: its result is kept under
``<dir>/results/<key>.json``, so a rerun (or a killed study, started again) runs only what is
missing, and a job interrupted after a checkpoint resumes from its ``last.ckpt``. A failing job
is recorded with its reason and the others go on. ``--baselines`` adds rows that train nothing
(``+baseline=zero_shot``, ``few_shot``: SmolLM2 prompted), run at every seed on the same split.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftexp.compare import folder_mb
from ftexp.errors import refusals
from ftexp.study_keys import job_key, plain_config, still_holds

COLLAPSED = 0.98  # a run predicting one class for this share of the test split learned nothing


def collapsed(metrics: dict[str, float]) -> bool:
    """Whether a run learned nothing: one class for nearly every test example.

    For a tagger: not one test entity found, which is what tagging every token ``O`` gives.
    """
    one_class = metrics.get("test/top_class_share", 0.0) >= COLLAPSED
    return one_class or metrics.get("test/recall") == 0


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
    """The job's config, composed as the command line composes it (no run dir created)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    with initialize_config_module("ftexp.conf", version_base="1.3"):
        return hydra_compose("train", overrides=arguments)


@dataclass
class Study:
    """The jobs of a study and their kept results."""

    root: Path
    overrides: list[str]
    seeds: list[int]
    lr_factors: list[float]
    widen: int = 0  # steps the rate search may take past the grid's edge while the best is on it
    retry_failed: bool = False
    kept_only: bool = False  # run nothing: the table of what is kept (e.g. of a running study)
    # method -> overrides for its jobs alone (its row names them), e.g. a longer budget
    method_overrides: dict[str, list[str]] = field(default_factory=dict)
    ran: int = 0
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    _defaults: dict[str, Any] | None = None  # the base config, composed once when first needed
    # the done results found when first needed, by job: (file, result)
    _kept_done: dict[str, list[tuple[Path, dict[str, Any]]]] | None = None

    def result(self, job: Job) -> dict[str, Any]:
        """The job's result: kept from an earlier run, or from running it now."""
        try:
            cfg = compose(job.arguments())
        except Exception as err:  # the config cannot even be composed: a failed row
            return {"status": "failed", "reason": _first_line(err), "job": job.__dict__}
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
        with _claimed(run_dir):
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

    def own_overrides(self, name: str) -> tuple[tuple[str, ...], str]:
        """A method's or baseline's job overrides (shared + its own) and its name in the table."""
        own = self.method_overrides.get(name, [])  # e.g. a longer budget, a task's label words
        return (*self.overrides, *own), f"{name} ({' '.join(own)})" if own else name

    def method_rows(self, method: str) -> dict[str, Any]:
        """Search the rate, run the seeds at the best one; the method's row of the table."""
        overrides, name = self.own_overrides(method)
        try:
            base = compose([*overrides, f"method={method}"])
        except Exception as err:  # e.g. an unknown method: its row says why
            return {"method": name, "failed": [_first_line(err)], "runs": []}
        metric = f"best/{base.optimized_metric}"
        sign = 1 if str(base.optimized_mode) == "max" else -1
        rates = [float(base.method.lr) * f for f in self.lr_factors]
        search = {lr: self.result(Job(method, lr, self.seeds[0], overrides)) for lr in rates}
        scored = _scored(search, metric, sign)
        for _ in range(self.widen):  # the best rate on the grid's edge: one step beyond it
            beyond = rate_beyond(scored)
            if beyond is None or beyond in search:
                break
            search[beyond] = self.result(Job(method, beyond, self.seeds[0], overrides))
            scored = _scored(search, metric, sign)
        rates = sorted(search)
        failed = [r["reason"] for r in search.values() if r["status"] == "failed"]
        missing = sum(r["status"] == "missing" for r in search.values())
        if not scored:
            return {
                "method": name,
                "failed": failed,
                "runs": [],
                "rates": rates,
                "missing": missing,
            }
        best = max(scored, key=lambda lr: scored[lr])
        headline = str(base.optimized_metric).replace("val/", "test/", 1)
        runs = [search[best]] + [
            self.result(Job(method, best, seed, overrides)) for seed in self.seeds[1:]
        ]
        failed += [r["reason"] for r in runs if r["status"] == "failed"]
        missing += sum(r["status"] == "missing" for r in runs)
        done = [r for r in runs if r["status"] == "done"]
        return {
            "missing": missing,
            "latency": latency([Path(r["run_dir"]) for r in done], measure=not self.kept_only),
            "method": name,
            "headline": headline,
            "best_lr": best,
            "rates": rates,
            "search": {lr: sign * v for lr, v in scored.items()},
            "edge": grid_edge(scored),
            "runs": done,
            "failed": failed,
        }

    def baseline_rows(self, name: str) -> dict[str, Any]:
        """A ``+baseline=`` config (e.g. prompting with no update) at every seed: its row."""
        from ftexp.utils.config_check import checked_components

        overrides, shown = self.own_overrides(name)
        label = f"{shown} (baseline)"
        jobs = [Job(name, None, seed, overrides, baseline=True) for seed in self.seeds]
        try:
            seeded = checked_components(compose(jobs[0].arguments()))["objective"].seeded
        except Exception as err:  # e.g. an unknown baseline: its row says why
            failed = [_first_line(err)]
            return {"method": label, "best_lr": None, "runs": [], "failed": failed}
        runs = [self.result(job) for job in (jobs if seeded else jobs[:1])]
        return {
            "missing": sum(r["status"] == "missing" for r in runs),
            "method": label,
            "best_lr": None,
            "runs": [r for r in runs if r["status"] == "done"],
            "failed": [r["reason"] for r in runs if r["status"] == "failed"],
            "latency": None,
        }


def _identity(job: dict[str, Any]) -> str:
    """A job's method, rate, seed and overrides as one comparable string (tuples as lists)."""
    return json.dumps(job, sort_keys=True)


@contextmanager
def _claimed(run_dir: Path) -> Iterator[None]:
    """Hold a job (by its run dir) while it runs or is timed: studies sharing a directory.

    A second study waits for the job, then takes its result, instead of running it again (and
    clearing its run dir mid-run, as a job dir without a checkpoint is cleared).
    """
    import fcntl

    lock = run_dir.with_name(f"{run_dir.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _write_atomically(path: Path, result: dict[str, Any]) -> None:
    """Write a result whole: a study killed here keeps the job's old state, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)


def _scored(search: dict[float, dict[str, Any]], metric: str, sign: int) -> dict[float, float]:
    """The searched rates that finished, each with its score (higher is better)."""
    return {
        lr: sign * r["metrics"][metric]
        for lr, r in search.items()
        if r["status"] == "done" and metric in r["metrics"]
    }


def grid_edge(scored: dict[float, float]) -> str | None:
    """``top`` or ``bottom`` where the best rate is the grid's highest or lowest, else None.

    A best rate on the edge means the search did not bracket the optimum: a rate beyond it
    may be better still.
    """
    if len(scored) < 2:
        return None
    best = max(scored, key=lambda lr: scored[lr])
    return "top" if best == max(scored) else "bottom" if best == min(scored) else None


def rate_beyond(scored: dict[float, float]) -> float | None:
    """The next rate past the best one on the grid's edge, one grid step (its own ratio) out."""
    edge = grid_edge(scored)
    rates = sorted(scored)
    if edge == "top":
        return rates[-1] * rates[-1] / rates[-2]
    if edge == "bottom":
        return rates[0] * rates[0] / rates[1]
    return None


def latency(run_dirs: list[Path], measure: bool = True) -> dict[str, dict[str, float]] | None:
    """The saved model's inference timings (``python -m ftexp.latency``) of a method's row.

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
                command = [sys.executable, "-m", "ftexp.latency", str(run_dir)]
                subprocess.run(command, capture_output=True, check=False)
                timed = kept(run_dir)
        if timed is not None:
            return timed
    return None


def summarize(row: dict[str, Any]) -> dict[str, Any]:
    """Mean +- std over the seeds and the cost columns of one method."""
    runs = [r["metrics"] for r in row["runs"]]

    def spread(key: str) -> tuple[float, float]:
        values = [m[key] for m in runs if key in m]
        if not values:
            return float("nan"), float("nan")
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    first = runs[0] if runs else {}
    headline = row.get("headline", "test/acc")  # the task's own test metric (NER: entity F1)
    return {
        "method": row["method"],
        "headline": headline,
        "best_lr": row.get("best_lr"),
        "seeds": len(runs),
        "score": spread(headline),  # (mean, std) of the headline metric
        "f1": spread("test/f1"),
        "precision": spread("test/precision"),
        "recall": spread("test/recall"),
        "trainable_pct": 100 * first["params/trainable"] / first["params/total"]
        if first
        else float("nan"),
        "wall_min": spread("time/wall_s")[0] / 60,  # the whole run: train, validate, test
        "peak_mb": statistics.fmean(  # 0: a test-only run from before testing was sampled
            [p for m in runs if (p := m.get("memory/peak_gpu_mb", m.get("memory/peak_rss_mb", 0)))]
            or [float("nan")]
        ),
        "saved_mb": first.get("saved_mb", float("nan")),
        "latency": row.get("latency"),
        "collapsed": sum(collapsed(m) for m in runs),
        "edge": row.get("edge"),
        "search": row.get("search", {}),  # each searched rate's validation score
        "failed": row["failed"],
        "missing": row.get("missing", 0),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    """The comparison table, best mean headline metric (accuracy; entity F1 for NER) first."""
    headline = next((r["headline"] for r in rows if r["seeds"]), "test/acc")
    # where F1 is the headline (entity F1), its precision and recall take the F1 column
    tagger = headline == "test/f1"
    second = "test precision / recall" if tagger else "test F1"
    columns = ["method", "best lr", "seeds", headline.replace("/", " "), second]
    columns += ["trainable %", "wall time"]
    columns += ["peak memory", "saved model", "batch-1 p50 (merged)", "note"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in sorted(rows, key=lambda r: -r["score"][0] if r["seeds"] else 1.0):
        notes = []
        if r["collapsed"]:
            notes.append(
                f"collapsed to the majority class in {r['collapsed']} of {r['seeds']} runs"
            )
        if r.get("edge"):
            notes.append(f"best rate at the {r['edge']} of the searched grid")
        notes += [f"failed: {reason}" for reason in r["failed"]]
        if r.get("missing"):
            notes.append(f"{r['missing']} job(s) not run yet")
        if not r["seeds"]:
            lines.append(
                f"| {r['method']} | - | 0 | - | - | - | - | - | - | - | {'; '.join(notes)} |"
            )
            continue
        rate = "-" if r["best_lr"] is None else f"{r['best_lr']:.1e}"
        parts = (r["precision"], r["recall"]) if tagger else (r["f1"],)
        detail = " / ".join(_spread_cell(part, r["seeds"]) for part in parts)
        lines.append(
            f"| {r['method']} | {rate} | {r['seeds']} | "
            f"{_spread_cell(r['score'], r['seeds'])} | {detail} | "
            f"{_percent_cell(r['trainable_pct'])} | {r['wall_min']:.1f} min | "
            f"{_size_cell(r['peak_mb'], ',.0f')} | {_size_cell(r['saved_mb'], '.1f')} | "
            f"{_latency_cell(r['latency'])} | {'; '.join(notes)} |"
        )
    return "\n".join(lines) + "\n"


def _spread_cell(spread: tuple[float, float], seeds: int) -> str:
    """Mean +- std over the seeds; a single run has no spread to show."""
    return f"{spread[0]:.3f} +- {spread[1]:.3f}" if seeds > 1 else f"{spread[0]:.3f}"


def _percent_cell(pct: float) -> str:
    """Two decimals, or two significant digits below 0.1% (a linear probe's head: 0.0034)."""
    return f"{pct:.2f}" if pct >= 0.1 or pct == 0 else f"{pct:.2g}"


def _size_cell(mib: float, spec: str) -> str:
    """A size in MiB; ``-`` where there is none (nothing saved, no peak measured)."""
    return f"{mib:{spec}} MiB" if mib > 0 else "-"


def _latency_cell(timed: dict[str, dict[str, float]] | None) -> str:
    if not timed:
        return "-"
    cell = f"{timed['as_saved']['p50_ms']:.1f} ms"
    return cell + (f" ({timed['merged']['p50_ms']:.1f} ms)" if "merged" in timed else "")


def charts(rows: list[dict[str, Any]], path: Path, task: str = "") -> None:
    """Charts: the headline metric per method, vs trainable share, vs wall time.

    Error bars are the std over seeds; the cost panels draw the Pareto frontier. ``task`` (the
    study's shared overrides, e.g. ``experiment=compare_sentiment_zh``) heads the figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = sorted((r for r in rows if r["seeds"]), key=lambda r: -r["score"][0])  # best on top
    fig, axes = plt.subplots(1, 3, figsize=(16, 0.35 * len(done) + 3.5))
    names = [r["method"] for r in done]
    means = [r["score"][0] for r in done]
    stds = [r["score"][1] for r in done]
    axes[0].barh(names, means, xerr=stds, color="tab:blue")
    axes[0].set_xlim(max(0.0, min(means) - 0.1), min(1.0, max(means) + 0.05))
    metric = done[0]["headline"] if done else "test/acc"
    axes[0].set_xlabel(f"{metric} (mean +- std over seeds)")
    axes[0].invert_yaxis()
    for ax, key, label, log in (
        (axes[1], "trainable_pct", "trainable parameters (%, log)", True),
        (axes[2], "wall_min", "wall time per run (min)", False),
    ):
        # a log axis has no place for 0: baselines that train nothing stay in the first panel
        shown = [(r[key], m, s, n) for r, m, s, n in zip(done, means, stds, names, strict=True)]
        shown = [p for p in shown if not (log and p[0] <= 0)]
        xs = [p[0] for p in shown]
        ax.errorbar(xs, [p[1] for p in shown], yerr=[p[2] for p in shown], fmt="o")
        edge = frontier([(p[0], p[1]) for p in shown])
        if edge:
            ax.step(*zip(*edge, strict=True), where="post", color="tab:green", alpha=0.6)
        for x, y, _, name in shown:
            ax.annotate(name, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log" if log else "linear")
        ax.set_xlabel(label)
        ax.set_ylabel(metric)
    heading = f"ftexp {task}" if task else "ftexp"
    fig.suptitle(f"{heading}: methods tuned on validation, mean over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, score) points no cheaper-or-equal point beats: the Pareto frontier, by cost."""
    edge: list[tuple[float, float]] = []
    for cost, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if not edge or score > edge[-1][1]:
            edge.append((cost, score))
    return edge


def _per_method(pairs: list[str]) -> dict[str, list[str]]:
    """``METHOD:OVERRIDE`` pairs grouped by method, in the order given."""
    from ftexp.errors import ConfigError

    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        method, sep, override = pair.partition(":")
        if not sep or not method or "=" not in override:
            raise ConfigError([f"--method-overrides {pair!r}: write METHOD:KEY=VALUE"])
        grouped.setdefault(method, []).append(override)
    return grouped


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path, help="the study folder (results are kept here)")
    parser.add_argument("--methods", default="", help="comma-separated method options")
    parser.add_argument(
        "--baselines", default="", help="comma-separated +baseline= options (e.g. zero_shot)"
    )
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--lr-factors", default="0.3,1,3", help="times each method's own lr")
    parser.add_argument(
        "--widen",
        type=int,
        default=0,
        help="while a method's best rate is the grid's highest or lowest, search up to N more "
        "rates past it (one grid step each)",
    )
    parser.add_argument("--retry-failed", action="store_true", help="run failed jobs again")
    parser.add_argument(
        "--kept-only",
        action="store_true",
        help="run nothing: the table of the results kept so far (e.g. while the study runs)",
    )
    parser.add_argument(
        "--method-overrides",
        action="append",
        default=[],
        metavar="METHOD:OVERRIDE",
        help="an override for one method's or baseline's jobs (repeatable), e.g. "
        "prompt:trainer.max_epochs=3",
    )
    parser.add_argument("overrides", nargs="*", help="config overrides shared by every job")
    args = parser.parse_intermixed_args(argv)  # overrides may come before or after options
    with refusals():
        study = Study(
            root=args.dir,
            overrides=list(args.overrides),
            seeds=[int(s) for s in args.seeds.split(",")],
            lr_factors=[float(f) for f in args.lr_factors.split(",")],
            widen=args.widen,
            retry_failed=args.retry_failed,
            kept_only=args.kept_only,
            method_overrides=_per_method(args.method_overrides),
        )
        rows = [summarize(study.method_rows(m)) for m in args.methods.split(",") if m]
        rows += [summarize(study.baseline_rows(b)) for b in args.baselines.split(",") if b]
    table = markdown(rows)
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "comparison.md").write_text(table, encoding="utf-8")
    (args.dir / "comparison.json").write_text(
        json.dumps(rows, indent=2, default=str), encoding="utf-8"
    )
    if any(r["seeds"] for r in rows):
        charts(rows, args.dir / "comparison.png", task=" ".join(args.overrides))
    print(table)
    print(f"[study] {study.ran} job(s) run now; the rest kept from {args.dir / 'results'}")


if __name__ == "__main__":
    main()
