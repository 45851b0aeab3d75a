"""What every model spec offers: a cheap description that loads weights only on request."""

from __future__ import annotations

from typing import Any, Protocol

from torch import nn
from transformers import PreTrainedTokenizerBase


class ModelSpec(Protocol):
    """A model family entry of the ``model`` config group.

    Instantiating a spec is cheap (no weights are read), so the whole config can be validated
    before anything heavy happens. Weights load in ``load_classifier``.
    """

    lora_target_modules: list[str]
    adapter_targets: dict[str, str]

    def problems(self) -> list[str]:
        """List config problems (missing artifact fields, bad sizes, ...)."""
        ...

    def load_tokenizer(self) -> PreTrainedTokenizerBase:
        """Load the tokenizer that matches the weights."""
        ...

    def load_classifier(self, labels: list[str], **load_kwargs: Any) -> nn.Module:
        """Load a sequence-classification model with a fresh head for ``labels``."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return what is needed to rebuild the base model later (stored with the run)."""
        ...


def label_maps(labels: list[str]) -> dict[str, Any]:
    """Return the ``num_labels``/``id2label``/``label2id`` kwargs for a HF config."""
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }
