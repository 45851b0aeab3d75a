"""Run files are replaced whole: a run killed while saving leaves the previous files intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftexp.utils.io import atomic_write_text, replaced_dir


def test_a_folder_is_replaced_only_once_complete(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights").write_text("old")

    def killed_while_saving() -> None:
        with replaced_dir(model) as tmp:
            (tmp / "weights").write_text("half")
            raise RuntimeError("killed while saving")

    with pytest.raises(RuntimeError, match="killed"):
        killed_while_saving()
    assert (model / "weights").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no leftovers
    with replaced_dir(model) as tmp:
        (tmp / "weights").write_text("new")
        assert (model / "weights").read_text() == "old"  # untouched until the end
    assert (model / "weights").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_text_files_are_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "{}")
    assert target.read_text() == "{}"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
