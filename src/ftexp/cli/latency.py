"""``python -m ftexp.cli.latency <run_dir>``: inference speed of a saved model, as served.

Batch-1 latency (p50 / p95 over ``repeats`` calls) and batch-64 throughput on texts of the run's
own test split, for the model as saved (an adapter kept separate from its base) and, where the
method folds into the base (LoRA family, IA3), merged. CPU threads as the machine gives them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ftexp.errors import refusals
from ftexp.infra.console import quiet_libraries
from ftexp.run.reload import SavedRun
from ftexp.serve.latency import measure


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: prints the timings as JSON and writes ``latency.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        result = measure(SavedRun.read(args.run_dir).serving("latency"), args.repeats)
    (args.run_dir / "latency.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
