"""``python -m ftexp.cli.compare <sweep_dir>``: the comparison report of a multirun of methods.

Reads each job's ``metrics.json``, its config and choices (``.hydra/``) and the size of its
saved model; writes ``comparison.md``, ``comparison.json`` and ``comparison.png`` into the
sweep dir, the same report ``python -m ftexp.study`` writes (one run per method, no spread).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from omegaconf import OmegaConf

from ftexp.errors import RunError, refusals
from ftexp.study.report import ReportRow, folder_mb, summarize, write_report


def collect(sweep_dir: Path) -> list[ReportRow]:
    """Every finished job of a sweep as a summarised report row, best headline first."""
    rows = []
    for metrics_file in sorted(sweep_dir.glob("*/metrics.json")):
        job = metrics_file.parent
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        config = OmegaConf.load(job / ".hydra" / "config.yaml")
        hydra = OmegaConf.load(job / ".hydra" / "hydra.yaml")
        model = job / "model"
        metrics["saved_mb"] = folder_mb(model) if model.is_dir() else 0.0
        converted = metrics.get("converted/test/acc")
        row = {
            "method": str(hydra.hydra.runtime.choices.get("method", job.name)),
            "objective": str(config.objective._target_),
            "headline": str(config.optimized_metric).replace("val/", "test/", 1),
            "best_lr": float(config.optim.lr),
            "runs": [{"metrics": metrics}],
            "failed": [],
            "latency": None,
            "notes": [f"int weights: acc {converted:.3f}"] if converted is not None else [],
        }
        rows.append(summarize(row))
    return sorted(rows, key=lambda r: -r.score[0])


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
                "pass the sweep dir of a `make compare-sweep` or `-m` run"
            )
    print(write_report(rows, args.sweep_dir))


if __name__ == "__main__":
    main()
