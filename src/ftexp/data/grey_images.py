"""Small square grey images (the MNIST family) for image classifiers: one base, one reader each.

Examples stay raw bytes until a batch is drawn: the collator repeats the grey channel to RGB and
runs the model's own image processor, so a whole set at 224 px never sits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ftexp.contract import IMAGE_CLASSIFICATION, ModelTask
from ftexp.data.base import FinetuneData

Example = tuple[bytes, int]  # (side*side grey pixels, row by row; class id)


@dataclass
class GreyImageData(FinetuneData):
    """What every grey-image option shares; subclasses ``read`` and name their classes."""

    provides: ClassVar[frozenset[str]] = frozenset({"pixel_values", "label"})
    classifier_task: ClassVar[ModelTask] = IMAGE_CLASSIFICATION

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

    def collator(self, train: bool) -> Any:
        """Grey bytes -> RGB images -> the model's processor, per batch."""
        from ftexp.data.collate import GreyImages

        return GreyImages(self.processor)
