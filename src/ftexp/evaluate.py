"""``python -m ftexp.evaluate <run_dir> --harness held-out | <task.yaml> | <task name>``.

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

import yaml

from ftexp.console import quiet_libraries
from ftexp.errors import RunError, refusals
from ftexp.harness import HarnessReport


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from ftexp.harness import HELD_OUT

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
        from ftexp.reload import served_parts

        served_parts(args.run_dir, "evaluate")
        report = evaluate(args.run_dir, args.harness, args.split, args.limit, args.batch_size)
    out = args.run_dir / "harness.json"
    out.write_text(json.dumps(dataclasses.asdict(report), indent=2) + "\n")
    for source, scores in report.scores.items():
        figures = ", ".join(f"{k} {v:.4f}" for k, v in sorted(scores.items()))
        print(f"[ftexp] {report.task} ({report.examples} examples) {source}: {figures}")
    print(out)


def evaluate(
    run_dir: Path, harness: str, split: str, limit: int | None, batch_size: int
) -> HarnessReport:
    """Run the harness on the run's merged export; with ``held-out``, ftexp's scores too."""
    from ftexp.export import export_merged
    from ftexp.harness import (
        HELD_OUT,
        harness_scores,
        held_out_conversations,
        own_scores,
        run_harness,
        write_task,
    )
    from ftexp.reload import load_run

    merged = run_dir / "export-merged"
    if not (merged / "config.json").is_file():
        export_merged(run_dir, merged)
    if harness != HELD_OUT:
        task, include = _named_task(Path(harness))
        results = run_harness(merged, task, include, batch_size)
        return HarnessReport(task, None, {"lm_eval": harness_scores(results, task)})
    conversations = held_out_conversations(run_dir, split, limit)
    model, tokenizer, _ = load_run(run_dir)
    task = f"ftexp_{split}"
    yaml_file = write_task(run_dir / "harness", task, tokenizer, conversations)
    results = run_harness(merged, task, yaml_file.parent, batch_size, templated=True)
    own = own_scores(model, tokenizer, conversations)
    return HarnessReport(
        task,
        len(conversations),
        {
            "lm_eval": harness_scores(results, task),
            "ftexp": {"perplexity": own.perplexity, "acc": own.accuracy},
        },
    )


def _named_task(path: Path) -> tuple[str, Path | None]:
    """A task YAML file's task name and folder, or a registry task name as it is."""
    if path.suffix not in (".yaml", ".yml"):
        return str(path), None
    if not path.is_file():
        raise RunError(f"--harness {path}: no such task file")
    task = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(task, dict) or not isinstance(task.get("task"), str):
        raise RunError(f"--harness {path}: a harness task file needs a 'task: <name>' entry")
    return task["task"], path.parent


if __name__ == "__main__":
    main()
