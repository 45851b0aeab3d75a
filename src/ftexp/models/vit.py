"""A tiny random-init ViT image classifier, built in-process for tests (no download)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftexp.models.base import label_maps, seeded_model

if TYPE_CHECKING:
    from torch import nn


@dataclass
class TinyViT:
    """A 2-layer ViT over small images, with the module names of real ViTs.

    Pretrained ViTs load through ``model=hf model.name_or_path=<ViT id or folder>``; this spec
    is for tests and smoke runs. The weights depend only on ``init_seed``.
    """

    image_size: int = 8
    patch_size: int = 2
    num_channels: int = 3
    hidden_size: int = 32
    num_layers: int = 2
    num_heads: int = 2
    intermediate_size: int = 64
    init_seed: int = 0

    def problems(self) -> list[str]:
        """Check the sizes."""
        issues = []
        if self.image_size % self.patch_size:
            issues.append(
                f"model.image_size={self.image_size} must be divisible by "
                f"model.patch_size={self.patch_size}"
            )
        if self.hidden_size % self.num_heads:
            issues.append(
                f"model.hidden_size must be divisible by model.num_heads={self.num_heads}"
            )
        return issues

    def model_type(self) -> str:
        """ViT."""
        return "vit"

    def config_values(self) -> dict[str, Any]:
        """The limits a config check needs."""
        return {"model_type": "vit", "image_size": self.image_size}

    def load_processor(self) -> Any:
        """A real (saveable) ViT image processor: resize, scale to [-1, 1]."""
        from transformers import ViTImageProcessor

        return ViTImageProcessor(
            size={"height": self.image_size, "width": self.image_size},
            image_mean=[0.5] * self.num_channels,
            image_std=[0.5] * self.num_channels,
        )

    def load_image_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """Build the classifier; load-time options go through a real ``from_pretrained``."""
        from transformers import ViTConfig, ViTForImageClassification

        config = ViTConfig(
            image_size=self.image_size,
            patch_size=self.patch_size,
            num_channels=self.num_channels,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            **label_maps(labels),
        )
        return seeded_model(lambda: ViTForImageClassification(config), self.init_seed, load_kwargs)

    def portable_name(self) -> str:
        """Random-init weights: rebuilt from this spec by ftexp (no file holds them)."""
        return "ftexp:tiny_vit"

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"tiny_vit": self.__dict__.copy()}
