"""Images: Animal-MNIST, 10,000 28x28 grey animal silhouettes, 10 classes of 1,000 (no split).

Offline from the pinned ``animal-mnist`` wheel (MIT): two gzipped pickles of numpy arrays. They
are read with an unpickler that builds numpy arrays and nothing else, and the package's own
loader (which imports tensorflow) is never imported. A seeded 80/10/10 split.
"""

from __future__ import annotations

import gzip
import importlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftexp.data.grey_images import Example, GreyImageData
from ftexp.errors import DataError

CLASSES = ["Bear", "Bird", "Cat", "Cow", "Dog", "Elephant", "Giraffe", "Horse", "Sheep", "Zebra"]
IMAGES, LABELS = "animal_data_version_3.gz", "animal_label_version_3.gz"
# what a pickled numpy array needs, and all the unpickler may build
NUMPY_ARRAY = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays; any other class or function in the stream is refused."""

    def find_class(self, module: str, name: str) -> Any:
        """Only numpy's array reconstruction (``numpy.core`` is ``numpy._core`` in numpy 2)."""
        if (module, name) not in NUMPY_ARRAY:
            raise pickle.UnpicklingError(f"{module}.{name} is not a numpy array part")
        return getattr(importlib.import_module(module.replace("numpy.core", "numpy._core")), name)


def read_array(path: Path) -> Any:
    """A gzipped pickle of one numpy array, read with ``ArraysOnly``."""
    try:
        return ArraysOnly(io.BytesIO(gzip.decompress(path.read_bytes()))).load()
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise DataError(path, f"not a gzipped numpy array ({err})", fix="fetch it again") from None


@dataclass
class AnimalMnistData(GreyImageData):
    """Animal-MNIST for image classifiers; the classes in the package's (alphabetical) order.

    Attributes:
        path: a folder with ``animal_data_version_3.gz`` and ``animal_label_version_3.gz``;
            ``null`` reads the pinned wheel (``artifact``).
        artifact: the PyPI wheel and the folder inside it.
    """

    def missing_files(self, folder: Path) -> list[str]:
        """The two gzipped pickles."""
        return [name for name in (IMAGES, LABELS) if not (folder / name).is_file()]

    def read(self) -> dict[str, list[Example]]:
        """Every (image, class) pair, to be split."""
        folder = self.folder()
        images, labels = read_array(folder / IMAGES), read_array(folder / LABELS)
        if getattr(images, "ndim", 0) != 3 or len(images) != len(labels):
            raise DataError(
                folder / IMAGES,
                f"expected N square images and N labels, got shapes "
                f"{getattr(images, 'shape', None)} and {getattr(labels, 'shape', None)}",
                fix="use the package's own files",
            )
        if int(labels.max()) >= len(CLASSES) or int(labels.min()) < 0:
            raise DataError(folder / LABELS, "a label outside 0-9", fix="use the package's file")
        grey = images.astype("uint8")
        return {"all": [(grey[i].tobytes(), int(labels[i])) for i in range(len(labels))]}

    def class_names(self) -> list[str]:
        """The ten animals."""
        return list(CLASSES)
