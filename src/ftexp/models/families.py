"""What ftexp knows of each model family, in one table, and the families it defines itself.

A family is a Hugging Face ``model_type``. Its entry in ``FAMILIES`` holds every fact a method
or a loader needs (where each block's attention and FFN outputs are projected, which layers hold
the weights where they are not linear, where a vision transformer's token sequence comes out,
whether it reads images), so a method finds its targets through one typed lookup,
``family_of``, as PEFT keeps its target mappings, and a new family is one entry here. A family
with no entry is still served by every method that needs none of these facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Family:
    """The facts of one model family that methods and loaders read.

    Attributes:
        model_type: the Hugging Face ``model_type`` (``bert``, ``llama``, ``vit`` ...).
        attention_output: regex naming each block's attention-output projection (bottleneck
            adapters go after it); None where unknown.
        ffn_output: regex naming each block's FFN-output projection; None where unknown.
        weight_layers: the layers that hold most of the weights where those are not linear
            layers (a CNN's 1x1 convolutions: LoRA's default targets); None: the linear layers.
        token_sequence: the module whose output is the token sequence, class token first (a
            vision transformer's embeddings: visual prompts go in after it); None: none.
        reads_images: the model reads ``pixel_values`` (its processor is an image processor).
    """

    model_type: str
    attention_output: str | None = None
    ffn_output: str | None = None
    weight_layers: tuple[str, ...] | None = None
    token_sequence: str | None = None
    reads_images: bool = False


FAMILIES: dict[str, Family] = {
    family.model_type: family
    for family in (
        Family("bert", r"attention\.output\.dense$", r"layer\.\d+\.output\.dense$"),
        Family("roberta", r"attention\.output\.dense$", r"layer\.\d+\.output\.dense$"),
        Family("distilbert", r"attention\.out_lin$", r"ffn\.lin2$"),
        Family("llama", r"self_attn\.o_proj$", r"mlp\.down_proj$"),
        Family("mistral", r"self_attn\.o_proj$", r"mlp\.down_proj$"),
        Family("qwen2", r"self_attn\.o_proj$", r"mlp\.down_proj$"),
        Family("gpt2", r"attn\.c_proj$", r"mlp\.c_proj$"),
        Family("vit", r"attention\.o_proj$", r"mlp\.fc2$", None, "embeddings", True),
        Family("dinov2", r"attention\.o_proj$", r"mlp\.fc2$", None, "embeddings", True),
        Family("deit", token_sequence="embeddings", reads_images=True),
        Family("beit", reads_images=True),
        Family("swin", reads_images=True),
        Family("convnext", reads_images=True),
        Family("resnet", reads_images=True),
        Family("mobilevit", reads_images=True),
        # ftexp's own CNN: the 1x1 convolutions (expansion, projection, head) hold ~90% of it
        Family(
            "efficientnet_lite",
            weight_layers=("conv_pw", "conv_pwl", "conv_head"),
            reads_images=True,
        ),
    )
}


def family_of(model_type: str | None) -> Family:
    """The family of a ``model_type``; one that knows nothing where it has no entry."""
    return FAMILIES.get(model_type or "", Family(model_type or ""))


def model_family(model: nn.Module) -> Family:
    """The family of a built model, from its config's ``model_type``."""
    return family_of(getattr(getattr(model, "config", None), "model_type", None))


def families_with(fact: str) -> list[str]:
    """The families whose entry gives ``fact`` (a ``Family`` field), for refusal messages."""
    return sorted(name for name, family in FAMILIES.items() if getattr(family, fact))


def register_families() -> None:
    """Register every family of ``ftexp.models`` that ``transformers`` does not ship."""
    from ftexp.models.efficientnet_lite_net import register

    register()
