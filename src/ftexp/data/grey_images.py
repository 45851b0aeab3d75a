"""Small square grey images (the MNIST family) for image classifiers: one base, one reader each.

Examples stay raw bytes until a batch is drawn: the collator repeats the grey channel to RGB and
runs the model's own image processor, so a whole set at 224 px never sits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ftexp.contract import IMAGE_CLASSIFICATION, ModelTask
from ftexp.data.base import Collate, FinetuneData
from ftexp.infra.artifacts import PypiArtifact

Example = tuple[bytes, int]  # (side*side grey pixels, row by row; class id)


@dataclass
class GreyImageData(FinetuneData):
    """What every grey-image option shares; subclasses ``read`` and name their classes and files.

    Attributes:
        path: a folder holding the option's files; ``null`` reads the pinned ``artifact``.
        artifact: the pinned package and the folder inside it (of ``artifact_type``).
    """

    provides: ClassVar[frozenset[str]] = frozenset({"pixel_values", "label"})
    classifier_task: ClassVar[ModelTask] = IMAGE_CLASSIFICATION
    artifact_type: ClassVar[type[PypiArtifact]] = PypiArtifact

    path: str | None = None
    artifact: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.artifact = dict(self.artifact) if self.artifact else None

    def missing_files(self, folder: Path) -> list[str]:
        """The option's files that ``folder`` lacks (each option names its own)."""
        raise NotImplementedError

    def source_problems(self) -> list[str]:
        """A folder must hold the option's files; an artifact must be pinned."""
        if self.path is None:
            if self.artifact is None:
                return ["data: set data.path (a folder of the files) or data.artifact"]
            return [f"data.{p}" for p in self.artifact_type(**self.artifact).problems()]
        missing = self.missing_files(Path(self.path).expanduser())
        if missing:
            return [
                f"data.path={self.path} lacks {', '.join(missing)}; point it at the folder "
                "of the original files"
            ]
        return []

    def folder(self) -> Path:
        """The folder of the files: ``path``, or the artifact's (fetched on first use)."""
        if self.path is not None:
            return Path(self.path).expanduser()
        assert self.artifact is not None
        return self.artifact_type(**self.artifact).local_path()

    def origin(self) -> str:
        """The folder of the files."""
        return str(self.folder())

    def key(self, example: Example) -> Any:
        """The pixels: an image repeated is one example."""
        return example[0]

    def label_of(self, example: Example) -> int:
        """The class id."""
        return example[1]

    def encode_split(self, examples: list[Example]) -> list[Example]:
        """Kept as bytes: the collator decodes and resizes each batch."""
        return list(examples)

    def length(self, encoded: Any) -> int:
        """Every image has the same size."""
        return 1

    def collator(self, train: bool) -> Collate:
        """Grey bytes -> RGB images -> the model's processor, per batch."""
        from ftexp.data.collate import GreyImages

        return GreyImages(self.processor)
