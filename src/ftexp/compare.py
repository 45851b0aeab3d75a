"""``python -m ftexp.compare <sweep_dir>``: one table and one chart from a multirun of methods.

Reads each job's ``metrics.json``, the method chosen for it (``.hydra/hydra.yaml``) and the size
of its saved model, then writes ``comparison.md`` and ``comparison.png`` into the sweep dir.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from ftexp.errors import RunError, refusals


@dataclass
class Row:
    """One method's results."""

    method: str
    test_acc: float
    test_f1: float
    trainable_pct: float
    wall_s: float
    peak_mb: float
    saved_mb: float
    extra: str


def folder_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MiB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def collect(sweep_dir: Path) -> list[Row]:
    """Read every finished job of a sweep."""
    rows = []
    for metrics_file in sorted(sweep_dir.glob("*/metrics.json")):
        job = metrics_file.parent
        metrics = json.loads(metrics_file.read_text())
        hydra = OmegaConf.load(job / ".hydra" / "hydra.yaml")
        method = str(hydra.hydra.runtime.choices.get("method", job.name))
        converted = metrics.get("converted/test/acc")
        rows.append(
            Row(
                method=method,
                test_acc=metrics.get("test/acc", float("nan")),
                test_f1=metrics.get("test/f1", float("nan")),
                trainable_pct=100 * metrics["params/trainable"] / metrics["params/total"],
                wall_s=metrics.get("time/wall_s", float("nan")),
                peak_mb=metrics.get("memory/peak_gpu_mb", metrics.get("memory/peak_rss_mb", 0)),
                saved_mb=folder_mb(job / "model") if (job / "model").is_dir() else 0.0,
                extra=f"int weights: acc {converted:.3f}" if converted is not None else "",
            )
        )
    return sorted(rows, key=lambda r: -r.test_acc)


def markdown(rows: list[Row]) -> str:
    """Render the comparison table."""
    header = [
        "method",
        "test acc",
        "test F1",
        "trainable %",
        "wall time",
        "peak memory",
        "saved model",
        "note",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append(
            f"| {r.method} | {r.test_acc:.3f} | {r.test_f1:.3f} | {r.trainable_pct:.2f} | "
            f"{r.wall_s / 60:.1f} min | {r.peak_mb:,.0f} MiB | {r.saved_mb:.1f} MiB | {r.extra} |"
        )
    return "\n".join(lines) + "\n"


def chart(rows: list[Row], path: Path) -> None:
    """Accuracy per method, with the trainable share on a second panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.method for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * len(rows) + 1.5), sharey=True)
    left.barh(names, [r.test_acc for r in rows], color="tab:blue")
    left.set_xlim(min(r.test_acc for r in rows) - 0.05, max(r.test_acc for r in rows) + 0.02)
    left.set_xlabel("test accuracy")
    left.invert_yaxis()
    right.barh(names, [r.trainable_pct for r in rows], color="tab:orange")
    right.set_xscale("log")
    right.set_xlabel("trainable parameters (%, log scale)")
    fig.suptitle("ftexp: fine-tuning methods on the same harness")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    with refusals():
        rows = collect(args.sweep_dir)
        if not rows:
            raise RunError(
                f"no finished jobs (*/metrics.json) under {args.sweep_dir}; "
                "pass the sweep dir of a `make compare` or `-m` run"
            )
    table = markdown(rows)
    (args.sweep_dir / "comparison.md").write_text(table, encoding="utf-8")
    chart(rows, args.sweep_dir / "comparison.png")
    print(table)


if __name__ == "__main__":
    main()
