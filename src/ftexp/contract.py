"""The contract between objective, data and model, checked before any weights load.

An objective declares the batch fields it ``needs`` and the ``ModelTask`` it trains (how the
model is loaded from a model spec, wrapped by PEFT and reloaded); a data module declares the
fields it ``provides``. ``ftexp.checks.contract`` compares them from the classes alone, so a
mismatch such as ``objective=dpo data=sentiment`` is refused at config time. This module
imports nothing heavy: it runs before torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from torch import nn

    from ftexp.models.base import ModelSpec


# What a model spec offers to serve each task: a spec serves a task when it has the method (a
# spec written against this convention needs no registration), and the call is type-checked.
@runtime_checkable
class LoadsClassifier(Protocol):
    """A spec that loads a sequence classifier with a fresh head for ``labels``."""

    def load_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """The pretrained model with a new classification head."""
        ...


@runtime_checkable
class LoadsTokenClassifier(Protocol):
    """A spec that loads a token classifier with a fresh head for ``labels``."""

    def load_token_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """The pretrained model with a new per-token head."""
        ...


@runtime_checkable
class LoadsImageClassifier(Protocol):
    """A spec that loads an image classifier with a fresh head for ``labels``."""

    def load_image_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """The pretrained backbone with a new classification head."""
        ...


@runtime_checkable
class LoadsCausalLM(Protocol):
    """A spec that loads a causal language model (its own head)."""

    def load_causal_lm(self, **load_kwargs: object) -> nn.Module:
        """The pretrained model with its language-model head."""
        ...


@runtime_checkable
class LoadsMaskedLM(Protocol):
    """A spec that loads a masked language model (its own head, or a new one)."""

    def load_masked_lm(self, **load_kwargs: object) -> nn.Module:
        """The pretrained encoder with a masked-LM head."""
        ...


def _classifier(spec: LoadsClassifier, labels: list[str], kwargs: dict[str, Any]) -> nn.Module:
    return spec.load_classifier(labels, **kwargs)


def _token_classifier(
    spec: LoadsTokenClassifier, labels: list[str], kwargs: dict[str, Any]
) -> nn.Module:
    return spec.load_token_classifier(labels, **kwargs)


def _image_classifier(
    spec: LoadsImageClassifier, labels: list[str], kwargs: dict[str, Any]
) -> nn.Module:
    return spec.load_image_classifier(labels, **kwargs)


def _causal_lm(spec: LoadsCausalLM, _labels: list[str], kwargs: dict[str, Any]) -> nn.Module:
    return spec.load_causal_lm(**kwargs)


def _masked_lm(spec: LoadsMaskedLM, _labels: list[str], kwargs: dict[str, Any]) -> nn.Module:
    return spec.load_masked_lm(**kwargs)


@dataclass(frozen=True)
class ModelTask:
    """How an objective's model is built, wrapped and rebuilt: one object, read by all.

    Attributes:
        name: what the model does, for messages.
        loader: the protocol a model spec meets to load a pretrained model for this task.
        call: loads it from a spec that meets ``loader`` (``labels`` sized the head, where
            the task is ``labelled``).
        auto_class: the ``transformers`` auto class that reloads a saved full model.
        peft_task: PEFT's task type for wrapping (``None``: PEFT's generic model).
        labelled: the head is sized by class names (passed to the loader).
        inputs: the batch fields the model's forward takes.
        predictor: the ``ftexp.serve.predict`` function that answers for a saved model of this task.
        commands: the side commands (``python -m ftexp.cli.<command>``) that serve a saved model of
            this task; any other is refused before the model loads.
    """

    name: str
    loader: type  # a runtime-checkable Protocol class
    call: Callable[[Any, list[str], dict[str, Any]], Any]
    auto_class: str
    peft_task: str | None
    labelled: bool = False
    inputs: frozenset[str] = frozenset()
    predictor: str = "ftexp.serve.predict.classes"
    commands: frozenset[str] = frozenset({"predict", "export", "latency"})

    @property
    def loader_method(self) -> str:
        """The spec method this task loads with (``load_classifier``), for messages."""
        return next(name for name in vars(self.loader) if name.startswith("load_"))

    def served_by(self, spec: ModelSpec) -> bool:
        """Whether a model spec can load a model for this task."""
        return isinstance(spec, self.loader)

    def load(self, spec: ModelSpec, labels: list[str] | None, **load_kwargs: object) -> nn.Module:
        """Load the pretrained model for this task from ``spec``."""
        return self.call(spec, list(labels or []), load_kwargs)

    def load_saved(self, model_dir: Path, **load_kwargs: object) -> nn.Module:
        """Reload a complete saved model (``save_pretrained`` folder)."""
        import transformers

        from ftexp.models.families import register_families

        register_families()
        return getattr(transformers, self.auto_class).from_pretrained(model_dir, **load_kwargs)

    def load_processor(self, model_dir: Path) -> Any:
        """Reload the processor saved beside a model (image processor or tokenizer)."""
        import transformers

        kind = "AutoImageProcessor" if "pixel_values" in self.inputs else "AutoTokenizer"
        return getattr(transformers, kind).from_pretrained(model_dir)


SEQUENCE_CLASSIFICATION = ModelTask(
    "sequence classification",
    LoadsClassifier,
    _classifier,
    "AutoModelForSequenceClassification",
    "SEQ_CLS",
    labelled=True,
    inputs=frozenset({"input_ids", "attention_mask"}),
)
TOKEN_CLASSIFICATION = ModelTask(
    "token classification",
    LoadsTokenClassifier,
    _token_classifier,
    "AutoModelForTokenClassification",
    "TOKEN_CLS",
    labelled=True,
    inputs=frozenset({"input_ids", "attention_mask"}),
    predictor="ftexp.serve.predict.entities",
)
CAUSAL_LM = ModelTask(
    "causal language model",
    LoadsCausalLM,
    _causal_lm,
    "AutoModelForCausalLM",
    "CAUSAL_LM",
    commands=frozenset({"generate", "evaluate", "export", "latency"}),
)
MASKED_LM = ModelTask(
    "masked language model",
    LoadsMaskedLM,
    _masked_lm,
    "AutoModelForMaskedLM",
    "FEATURE_EXTRACTION",
    commands=frozenset({"export"}),
)
IMAGE_CLASSIFICATION = ModelTask(
    "image classification",
    LoadsImageClassifier,
    _image_classifier,
    "AutoModelForImageClassification",
    None,
    labelled=True,
    inputs=frozenset({"pixel_values"}),
    commands=frozenset({"predict", "export"}),  # latency is timed on text
)
