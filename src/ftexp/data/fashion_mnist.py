"""Images: Fashion-MNIST (Xiao et al. 2017), 70,000 28x28 grey photos of 10 kinds of clothing.

Offline, the complete set comes from Debian's ``dataset-fashion-mnist`` package (pinned,
sha256-checked, unpacked into the cache without installing); ``data.path`` takes any folder
with the four IDX files (e.g. torchvision's ``FashionMNIST/raw``). The 60,000 training images
give train and val (a seeded share); the 10,000 of ``t10k`` are the test split.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ftexp.data.grey_images import Example, GreyImageData
from ftexp.errors import DataError
from ftexp.infra.artifacts import DebianArtifact, PypiArtifact

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def idx_file(folder: Path, stem: str) -> Path | None:
    """The IDX file ``stem`` in ``folder``, gzipped or not."""
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(path: Path, magic: int) -> tuple[list[int], bytes]:
    """An IDX file's dimensions and its raw unsigned bytes (the format of (Fashion-)MNIST)."""
    raw = path.read_bytes()
    data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(
            path,
            f"not an IDX file of this kind (magic {found}, expected {magic})",
            fix="point data.path at the original Fashion-MNIST files",
        )
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    body = data[4 + 4 * rank :]
    expected = 1
    for d in dims:
        expected *= d
    if len(body) != expected:
        raise DataError(
            path, f"holds {len(body)} values, its header says {expected}", fix="fetch it again"
        )
    return dims, body


@dataclass
class FashionMnistData(GreyImageData):
    """Fashion-MNIST for image classifiers: grey repeated to RGB, resized by the model's processor.

    Attributes:
        path: a folder with ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``; ``null``
            reads the pinned Debian package (``artifact``).
        artifact: the Debian package and the folder inside it.
    """

    artifact_type: ClassVar[type[PypiArtifact]] = DebianArtifact

    def missing_files(self, folder: Path) -> list[str]:
        """The four IDX files, gzipped or not."""
        stems = [stem for pair in FILES.values() for stem in pair]
        return [f"{stem}(.gz)" for stem in stems if idx_file(folder, stem) is None]

    def read(self) -> dict[str, list[Example]]:
        """The given train and test splits (val is carved out of train)."""
        folder = self.folder()
        splits = {}
        for split, (images_stem, labels_stem) in FILES.items():
            images, labels = idx_file(folder, images_stem), idx_file(folder, labels_stem)
            assert images is not None
            assert labels is not None
            dims, pixels = read_idx(images, IMAGES_MAGIC)
            (count,), classes = read_idx(labels, LABELS_MAGIC)
            if dims[0] != count:
                raise DataError(
                    images, f"{dims[0]} images but {count} labels", fix="fetch the files again"
                )
            if max(classes, default=0) >= len(CLASSES):
                raise DataError(labels, "a label above 9", fix="use Fashion-MNIST's label file")
            size = dims[1] * dims[2]
            splits[split] = [(pixels[i * size : (i + 1) * size], classes[i]) for i in range(count)]
        return splits

    def class_names(self) -> list[str]:
        """Fashion-MNIST's ten classes, in its label order."""
        return list(CLASSES)
