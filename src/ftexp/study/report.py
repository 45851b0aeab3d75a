"""The comparison report: one row per method (mean +- std over seeds), a table and charts."""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.utils import get_object

from ftexp.utils.io import atomic_write_text

CLASSIFIER = "ftexp.objectives.classify.Classify"  # rows that do not say (an earlier study)


def folder_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MiB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def peak_mb(metrics: dict[str, float]) -> float:
    """A run's peak memory: the GPU's where it ran on one, else the process's RSS (0: none)."""
    return float(metrics.get("memory/peak_gpu_mb", metrics.get("memory/peak_rss_mb", 0)))


Spread = tuple[float, float]  # (mean, std) over the seeds


@dataclass
class ReportRow:
    """One method's line of the comparison: its score over the seeds and what it cost.

    Attributes:
        method: the method's name in the study (with its overrides, where a row has some).
        headline: the task's own test metric (``test/acc``; NER: ``test/f1``).
        details: the objective's detail metrics shown beside it (a classifier's F1).
        best_lr: the rate the search picked on validation (None: not searched).
        seeds: how many seeds finished.
        score: the headline's (mean, std) over the seeds.
        detail: each detail metric's (mean, std).
        trainable_pct: the share of parameters that trained, in %.
        wall_min: a whole run's wall time (train, validate, test), mean over the seeds.
        peak_mb: peak memory (the GPU's, else the process's RSS), mean over the seeds.
        saved_mb: the saved model folder's size.
        latency: the saved model's timings (``python -m ftexp.cli.latency``), where measured.
        collapsed: runs that collapsed to the majority class.
        edge: ``low`` / ``high`` where the best rate sat at the edge of the searched grid.
        search: each searched rate's validation score.
        failed: why each failed run failed.
        missing: jobs not run yet.
        notes: further notes (e.g. a QAT run's accuracy with real int weights).
    """

    method: str
    headline: str
    details: list[str]
    best_lr: float | None
    seeds: int
    score: Spread
    detail: list[Spread]
    trainable_pct: float
    wall_min: float
    peak_mb: float
    saved_mb: float
    latency: dict[str, dict[str, float]] | None
    collapsed: int
    edge: str | None
    search: dict[str, float]
    failed: list[str]
    missing: int
    notes: list[str] = field(default_factory=list)


def summarize(row: dict[str, Any]) -> ReportRow:
    """Mean +- std over the seeds and the cost columns of one method."""
    runs = [r["metrics"] for r in row["runs"]]

    def spread(key: str) -> tuple[float, float]:
        values = [m[key] for m in runs if key in m]
        if not values:
            return float("nan"), float("nan")
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    first = runs[0] if runs else {}
    headline = row.get("headline", "test/acc")  # the task's own test metric (NER: entity F1)
    objective = get_object(row.get("objective") or CLASSIFIER)  # its rules for the columns
    return ReportRow(
        method=row["method"],
        headline=headline,
        details=list(objective.detail_metrics),
        best_lr=row.get("best_lr"),
        seeds=len(runs),
        score=spread(headline),
        detail=[spread(name) for name in objective.detail_metrics],
        trainable_pct=100 * first["params/trainable"] / first["params/total"]
        if first
        else float("nan"),
        wall_min=spread("time/wall_s")[0] / 60,
        peak_mb=statistics.fmean(  # 0: a test-only run from before testing was sampled
            [p for m in runs if (p := peak_mb(m))] or [float("nan")]
        ),
        saved_mb=first.get("saved_mb", float("nan")),
        latency=row.get("latency"),
        collapsed=sum(objective.collapsed(m) for m in runs),
        edge=row.get("edge"),
        search=row.get("search", {}),
        failed=row["failed"],
        missing=row.get("missing", 0),
        notes=row.get("notes", []),
    )


def markdown(rows: list[ReportRow]) -> str:
    """The comparison table, best mean headline metric (accuracy; entity F1 for NER) first.

    Beside the headline, the objective's own detail metrics (a classifier's F1; a tagger's
    precision and recall) share one column.
    """
    shown = next((r for r in rows if r.seeds), rows[0] if rows else None)
    headline = shown.headline if shown else "test/acc"
    details = shown.details if shown else []
    columns = ["method", "best lr", "seeds", headline.replace("/", " ")]
    if details:
        columns.append(_detail_header(details))
    columns += ["trainable %", "wall time"]
    columns += ["peak memory", "saved model", "batch-1 p50 (merged)", "note"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in sorted(rows, key=lambda r: -r.score[0] if r.seeds else 1.0):
        notes = list(r.notes)
        if r.collapsed:
            notes.append(f"collapsed to the majority class in {r.collapsed} of {r.seeds} runs")
        if r.edge:
            notes.append(f"best rate at the {r.edge} of the searched grid")
        notes += [f"failed: {reason}" for reason in r.failed]
        if r.missing:
            notes.append(f"{r.missing} job(s) not run yet")
        if not r.seeds:
            dashes = " | ".join("-" for _ in columns[3:-1])  # headline to latency: nothing ran
            lines.append(f"| {r.method} | - | 0 | {dashes} | {'; '.join(notes)} |")
            continue
        rate = "-" if r.best_lr is None else f"{r.best_lr:.1e}"
        detail = " / ".join(_spread_cell(part, r.seeds) for part in r.detail)
        lines.append(
            f"| {r.method} | {rate} | {r.seeds} | "
            f"{_spread_cell(r.score, r.seeds)} | {detail + ' | ' if details else ''}"
            f"{_percent_cell(r.trainable_pct)} | {r.wall_min:.1f} min | "
            f"{_size_cell(r.peak_mb, ',.0f')} | {_size_cell(r.saved_mb, '.1f')} | "
            f"{_latency_cell(r.latency)} | {'; '.join(notes)} |"
        )
    return "\n".join(lines) + "\n"


def _detail_header(details: list[str]) -> str:
    """``test F1``; ``test precision / recall`` (one stage named once)."""
    stage = details[0].split("/", 1)[0]
    names = [d.split("/", 1)[1] for d in details]
    return f"{stage} " + " / ".join("F1" if n == "f1" else n for n in names)


def write_report(rows: list[ReportRow], out: Path, task: str = "") -> str:
    """Write ``comparison.md``, ``comparison.json`` and (when a row ran) ``comparison.png``.

    Returns the table. ``task`` heads the charts (e.g. the study's shared overrides).
    """
    table = markdown(rows)
    atomic_write_text(out / "comparison.md", table)
    plain = [dataclasses.asdict(row) for row in rows]
    atomic_write_text(out / "comparison.json", json.dumps(plain, indent=2, default=str))
    if any(r.seeds for r in rows):
        charts(rows, out / "comparison.png", task=task)
    return table


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


def charts(rows: list[ReportRow], path: Path, task: str = "") -> None:
    """Charts: the headline metric per method, vs trainable share, vs wall time.

    Error bars are the std over seeds; the cost panels draw the Pareto frontier. ``task`` (the
    study's shared overrides, e.g. ``experiment=compare_sentiment_zh``) heads the figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = sorted((r for r in rows if r.seeds), key=lambda r: -r.score[0])  # best on top
    fig, axes = plt.subplots(1, 3, figsize=(16, 0.35 * len(done) + 3.5))
    names = [r.method for r in done]
    means = [r.score[0] for r in done]
    stds = [r.score[1] for r in done]
    axes[0].barh(names, means, xerr=stds, color="tab:blue")
    axes[0].set_xlim(max(0.0, min(means) - 0.1), min(1.0, max(means) + 0.05))
    metric = done[0].headline if done else "test/acc"
    axes[0].set_xlabel(f"{metric} (mean +- std over seeds)")
    axes[0].invert_yaxis()
    for ax, costs, label, log in (
        (axes[1], [r.trainable_pct for r in done], "trainable parameters (%, log)", True),
        (axes[2], [r.wall_min for r in done], "wall time per run (min)", False),
    ):
        # a log axis has no place for 0: baselines that train nothing stay in the first panel
        shown = list(zip(costs, means, stds, names, strict=True))
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
