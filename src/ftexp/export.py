"""``python -m ftexp.export <run_dir> --merged | --adapter``: folders that standard tools read.

``--merged`` writes one plain Hugging Face model: LoRA, DoRA and IA3 folded into the base
(QLoRA into its de-quantised base), ``id2label`` set, the processor beside it, so
``transformers.pipeline(..., model=<folder>)`` prints the real label names and causal LMs
generate with ``AutoModelForCausalLM``. ``--adapter`` copies the adapter with a portable base
reference (a hub id or the pinned artifact) instead of this machine's cache path.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from ftexp.console import quiet_libraries
from ftexp.errors import RunError, refusals

DTYPES = ("float32", "bfloat16", "float16")


def export_merged(run_dir: Path, out: Path, dtype: str | None = None) -> Path:
    """Write the run's model, the method folded in, as a plain HF folder; return ``out``."""
    import torch

    from ftexp.reload import load_run, run_parts

    model, processor, labels = load_run(run_dir)
    method = run_parts(run_dir).method
    merged = method.merged(model)
    if labels:
        merged.config.id2label = dict(enumerate(labels))
        merged.config.label2id = {name: i for i, name in enumerate(labels)}
    if dtype:
        merged = merged.to(getattr(torch, dtype))
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def export_adapter(run_dir: Path, out: Path) -> Path:
    """Copy the saved adapter with a base reference that works on another machine."""
    from ftexp.reload import run_parts

    parts = run_parts(run_dir)
    if not parts.method.saves_adapter:
        raise RunError(
            f"{run_dir} saved full weights (method {type(parts.method).__name__}), not an "
            "adapter; export it with --merged"
        )
    shutil.copytree(run_dir / "model", out, dirs_exist_ok=True)
    config_file = out / "adapter_config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = parts.model.portable_name()
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a finished run dir")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--merged", action="store_true", help="one plain HF model folder")
    kind.add_argument("--adapter", action="store_true", help="the adapter, portable base")
    parser.add_argument("--dtype", choices=DTYPES, help="cast the merged weights")
    parser.add_argument("--out", type=Path, help="default: <run_dir>/export-merged|adapter")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="also upload (needs a login)")
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        from ftexp.reload import served_parts

        served_parts(args.run_dir, "export")
        out = args.out or args.run_dir / ("export-merged" if args.merged else "export-adapter")
        if args.merged:
            export_merged(args.run_dir, out, args.dtype)
        else:
            export_adapter(args.run_dir, out)
        if args.push_to_hub:
            _push(out, args.push_to_hub)
    print(out)


def _push(folder: Path, repo_id: str) -> Any:
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    return api.upload_folder(folder_path=str(folder), repo_id=repo_id)


if __name__ == "__main__":
    main()
