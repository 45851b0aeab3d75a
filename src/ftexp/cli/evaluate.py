"""``python -m ftexp.cli.evaluate <run_dir> --harness held-out | <task.yaml> | <task name>``.

Scores a fine-tuned LM run with EleutherAI's lm-evaluation-harness (``pip install
'ftexp[eval]'``): ``held-out`` writes the run's test conversations as a local task and prints
the harness's figures beside ftexp's own for the same replies; a task YAML of your own, or a
task name of the harness's registry (that one needs internet for its dataset), is run as given.
The merged export the harness reads is written to ``<run_dir>/export-merged`` when missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ftexp.errors import refusals
from ftexp.infra.console import quiet_libraries
from ftexp.run.reload import SavedRun
from ftexp.serve.evaluate import evaluate
from ftexp.serve.harness import HELD_OUT


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a finished objective=sft/dpo/rl/upft run dir")
    parser.add_argument(
        "--harness", required=True, help=f"{HELD_OUT}, a task YAML file, or a task name"
    )
    parser.add_argument("--split", default="test", choices=("test", "val"), help="for held-out")
    parser.add_argument("--limit", type=int, help="the first N held-out conversations")
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        run = SavedRun.read(args.run_dir).serving("evaluate")
        report = evaluate(run, args.harness, args.split, args.limit, args.batch_size)
    out = args.run_dir / "harness.json"
    out.write_text(json.dumps(dataclasses.asdict(report), indent=2) + "\n")
    for source, scores in report.scores.items():
        figures = ", ".join(f"{k} {v:.4f}" for k, v in sorted(scores.items()))
        print(f"[ftexp] {report.task} ({report.examples} examples) {source}: {figures}")
    print(out)


if __name__ == "__main__":
    main()
