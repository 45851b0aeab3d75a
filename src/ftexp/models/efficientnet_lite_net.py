"""EfficientNet-Lite as a Hugging Face image classifier (Tan & Le 2019, arXiv:1905.11946).

The Lite variants drop squeeze-and-excitation, use ReLU6 and keep the stem and head fixed, so
they quantise and run well on CPUs. The parameter names are ``timm``'s (``conv_stem``,
``blocks.S.I.conv_pw`` ...), and stride-2 convolutions pad as TensorFlow's ``SAME`` does, so the
TensorFlow-trained weights give the accuracy they were published with.

This file imports only torch and transformers: ``save_pretrained`` copies it beside the weights,
so a saved model loads with ``transformers`` alone (``trust_remote_code=True``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import ImageClassifierOutputWithNoAttention

# kernel, stride, expansion, output channels, repeats: EfficientNet-B0's stages (Lite0 = B0)
LITE0_STAGES = [
    [3, 1, 1, 16, 1],
    [3, 2, 6, 24, 2],
    [5, 2, 6, 40, 2],
    [3, 2, 6, 80, 3],
    [5, 1, 6, 112, 3],
    [5, 2, 6, 192, 4],
    [3, 1, 6, 320, 1],
]


class EfficientNetLiteConfig(PretrainedConfig):
    """The architecture: stem width, the stages, head width, dropout before the classifier."""

    model_type = "efficientnet_lite"

    def __init__(
        self,
        num_channels: int = 3,
        stem_size: int = 32,
        stages: list[list[int]] | None = None,
        head_size: int = 1280,
        dropout: float = 0.2,
        batch_norm_eps: float = 1e-3,
        **kwargs: object,
    ) -> None:
        self.num_channels = num_channels
        self.stem_size = stem_size
        self.stages = [list(s) for s in (stages or LITE0_STAGES)]
        self.head_size = head_size
        self.dropout = dropout
        self.batch_norm_eps = batch_norm_eps
        super().__init__(**kwargs)


class Conv2dSame(nn.Conv2d):
    """A strided convolution padded as TensorFlow's ``SAME``: more padding after than before."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad so the output has ``ceil(input / stride)`` positions, then convolve."""
        pads = []
        for size, kernel, stride in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride), strict=True
        ):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def conv(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A bias-free convolution with TensorFlow's ``SAME`` padding (static where it can be)."""
    if stride == 1:
        return nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2, groups=groups, bias=False)
    return Conv2dSame(c_in, c_out, kernel, stride, 0, groups=groups, bias=False)


class DepthwiseSeparable(nn.Module):
    """The first stage's block: depthwise conv, then a pointwise projection."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, eps: float) -> None:
        super().__init__()
        self.conv_dw = conv(c_in, c_in, kernel, stride, groups=c_in)
        self.bn1 = nn.BatchNorm2d(c_in, eps=eps)
        self.conv_pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, eps=eps)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Depthwise, ReLU6, pointwise (no activation), residual where shapes allow."""
        y = self.bn2(self.conv_pw(F.relu6(self.bn1(self.conv_dw(x)))))
        return x + y if self.skip else y


class InvertedResidual(nn.Module):
    """MBConv without squeeze-and-excitation: expand, depthwise, project."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, expand: int, eps: float
    ) -> None:
        super().__init__()
        wide = c_in * expand
        self.conv_pw = nn.Conv2d(c_in, wide, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(wide, eps=eps)
        self.conv_dw = conv(wide, wide, kernel, stride, groups=wide)
        self.bn2 = nn.BatchNorm2d(wide, eps=eps)
        self.conv_pwl = nn.Conv2d(wide, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out, eps=eps)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expand with ReLU6, depthwise with ReLU6, linear projection, residual."""
        y = F.relu6(self.bn1(self.conv_pw(x)))
        y = F.relu6(self.bn2(self.conv_dw(y)))
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.skip else y


class EfficientNetLiteBackbone(nn.Module):
    """Stem, the stages (a ``ModuleList``: one entry per stage), the 1x1 head conv."""

    def __init__(self, config: EfficientNetLiteConfig) -> None:
        super().__init__()
        eps = config.batch_norm_eps
        self.conv_stem = conv(config.num_channels, config.stem_size, 3, 2)
        self.bn1 = nn.BatchNorm2d(config.stem_size, eps=eps)
        stages: list[nn.Module] = []
        width = config.stem_size
        for index, (kernel, stride, expand, out, repeats) in enumerate(config.stages):
            blocks: list[nn.Module] = []
            for repeat in range(repeats):
                step = stride if repeat == 0 else 1
                if index == 0:
                    blocks.append(DepthwiseSeparable(width, out, kernel, step, eps))
                else:
                    blocks.append(InvertedResidual(width, out, kernel, step, expand, eps))
                width = out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.ModuleList(stages)
        self.conv_head = nn.Conv2d(width, config.head_size, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(config.head_size, eps=eps)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Pooled features, one vector of ``head_size`` per image."""
        x = F.relu6(self.bn1(self.conv_stem(pixel_values)))
        for stage in self.blocks:
            x = stage(x)
        x = F.relu6(self.bn2(self.conv_head(x)))
        return x.mean(dim=(2, 3))


class EfficientNetLiteForImageClassification(PreTrainedModel):
    """The backbone, dropout and a linear classifier; ``labels`` give a cross-entropy loss."""

    config_class = EfficientNetLiteConfig
    base_model_prefix = "efficientnet_lite"
    main_input_name = "pixel_values"

    def __init__(self, config: EfficientNetLiteConfig) -> None:
        super().__init__(config)
        self.efficientnet_lite = EfficientNetLiteBackbone(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.head_size, config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Kaiming-normal convolutions, unit batch norms, a small classifier."""
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.zeros_(module.bias)

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs: object,
    ) -> ImageClassifierOutputWithNoAttention:
        """Class logits for a batch of images; the loss when ``labels`` are given."""
        logits = self.classifier(self.dropout(self.efficientnet_lite(pixel_values)))
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits)


def register() -> None:
    """Make ``AutoModelForImageClassification`` know the family (and save this file with it)."""
    from transformers import AutoConfig, AutoModelForImageClassification

    AutoConfig.register(EfficientNetLiteConfig.model_type, EfficientNetLiteConfig, exist_ok=True)
    AutoModelForImageClassification.register(
        EfficientNetLiteConfig, EfficientNetLiteForImageClassification, exist_ok=True
    )
    EfficientNetLiteConfig.register_for_auto_class()
    EfficientNetLiteForImageClassification.register_for_auto_class(
        "AutoModelForImageClassification"
    )
