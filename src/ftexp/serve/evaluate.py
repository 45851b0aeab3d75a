"""A fine-tuned LM scored by EleutherAI's harness on the run's merged export.

The library side of ``python -m ftexp.cli.evaluate``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ftexp.errors import RunError
from ftexp.run.reload import SavedRun
from ftexp.serve.harness import HarnessReport


def evaluate(
    run: SavedRun | str | Path, harness: str, split: str, limit: int | None, batch_size: int
) -> HarnessReport:
    """Run the harness on the run's merged export; with ``held-out``, ftexp's scores too."""
    from ftexp.serve.export import export_merged
    from ftexp.serve.harness import (
        HELD_OUT,
        harness_scores,
        held_out_conversations,
        own_scores,
        run_harness,
        write_task,
    )

    saved = SavedRun.of(run)
    run_dir = saved.run_dir
    merged = run_dir / "export-merged"
    if not (merged / "config.json").is_file():
        export_merged(saved, merged)
    if harness != HELD_OUT:
        task, include = _named_task(Path(harness))
        results = run_harness(merged, task, include, batch_size)
        return HarnessReport(task, None, {"lm_eval": harness_scores(results, task)})
    conversations = held_out_conversations(saved, split, limit)
    model, tokenizer, _ = saved.load()
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
