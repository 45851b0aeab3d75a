"""Images: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes)."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ftexp.contract import IMAGE_CLASSIFICATION, ModelTask
from ftexp.data.base import Collate, FinetuneData
from ftexp.errors import DataError

Example = tuple[tuple[int, ...], int]  # (64 pixel intensities 0-16, digit)
SIDE = 8


def bundled_digits() -> Path | None:
    """scikit-learn's ``digits.csv.gz``, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


@dataclass
class DigitsData(FinetuneData):
    """Handwritten digits as RGB images for image classifiers (ViT); seeded 80/10/10 split.

    Attributes:
        path: a ``digits.csv.gz`` in scikit-learn's format (64 pixels then the label per line);
            ``null`` reads the copy scikit-learn ships.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"pixel_values", "label"})
    classifier_task: ClassVar[ModelTask] = IMAGE_CLASSIFICATION

    path: str | None = None

    def _file(self) -> Path | None:
        return Path(self.path).expanduser() if self.path else bundled_digits()

    def source_problems(self) -> list[str]:
        """The file must be there."""
        file = self._file()
        if file is None:
            return [
                "data=digits reads scikit-learn's copy: pip install scikit-learn, or set "
                "data.path=<digits.csv.gz>"
            ]
        return [] if file.is_file() else [f"data.path={self.path} does not exist"]

    def origin(self) -> str:
        """The digits file."""
        return str(self._file())

    def read(self) -> dict[str, list[Example]]:
        """Every (pixels, digit) row."""
        file = self._file()
        assert file is not None
        try:
            text = gzip.decompress(file.read_bytes()).decode("ascii")
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise DataError(
                file, f"not a readable digits.csv.gz ({err})", fix="fetch it again"
            ) from None
        examples = []
        for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if len(row) != SIDE * SIDE + 1 or not all(v.strip().lstrip("-").isdigit() for v in row):
                raise DataError(
                    file,
                    f"expected {SIDE * SIDE} pixels and a label",
                    line=line,
                    fix="use scikit-learn's digits format",
                )
            values = [int(v) for v in row]
            examples.append((tuple(values[:-1]), values[-1]))
        return {"all": examples}

    def key(self, example: Example) -> Any:
        """The pixels: an image repeated is one example."""
        return example[0]

    def label_of(self, example: Example) -> int:
        """The digit."""
        return example[1]

    def class_names(self) -> list[str]:
        """The ten digits."""
        return [str(d) for d in range(10)]

    def encode_split(self, examples: list[Example]) -> list[dict[str, Any]]:
        """Scale to 8-bit RGB images and run the image processor once over the split."""
        import numpy as np

        if not examples:
            return []
        pixels = np.asarray([p for p, _ in examples], dtype=np.float32).reshape(-1, SIDE, SIDE)
        gray = np.clip(pixels * 16, 0, 255).astype(np.uint8)
        images = list(np.repeat(gray[..., None], 3, axis=-1))
        values = self.processor(images=images, return_tensors="np")["pixel_values"]
        return [{"pixel_values": v, "label": y} for v, (_, y) in zip(values, examples, strict=True)]

    def length(self, encoded: Any) -> int:
        """Every image has the same size."""
        return 1

    def collator(self, train: bool) -> Collate:
        """Stack images and labels."""
        from ftexp.data.collate import image_batch

        return image_batch
