"""Folders that standard tools read from a finished run: a merged model, a portable adapter.

The library side of ``python -m ftexp.cli.export``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ftexp.errors import RunError
from ftexp.run.reload import SavedRun

if TYPE_CHECKING:
    from transformers import PreTrainedModel

DTYPES = ("float32", "bfloat16", "float16")


def export_merged(run: SavedRun | str | Path, out: Path, dtype: str | None = None) -> Path:
    """Write the run's model, the method folded in, as a plain HF folder; return ``out``."""
    import torch

    saved = SavedRun.of(run)
    model, processor, labels = saved.load()
    merged = cast("PreTrainedModel", saved.parts.method.merged(model))
    if labels:
        merged.config.id2label = dict(enumerate(labels))
        merged.config.label2id = {name: i for i, name in enumerate(labels)}
    if dtype:
        merged = merged.to(getattr(torch, dtype))
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def export_adapter(run: SavedRun | str | Path, out: Path) -> Path:
    """Copy the saved adapter with a base reference that works on another machine."""
    saved = SavedRun.of(run)
    parts = saved.parts
    if not parts.method.saves_adapter:
        raise RunError(
            f"{saved.run_dir} saved full weights (method {type(parts.method).__name__}), not an "
            "adapter; export it with --merged"
        )
    shutil.copytree(saved.run_dir / "model", out, dirs_exist_ok=True)
    config_file = out / "adapter_config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = parts.model.portable_name()
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return out


def push_to_hub(folder: Path, repo_id: str) -> Any:
    """Upload an exported folder to the hub repo ``repo_id`` (created when missing; a login)."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    return api.upload_folder(folder_path=str(folder), repo_id=repo_id)
