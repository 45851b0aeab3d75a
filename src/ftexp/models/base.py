"""What every model spec offers: a cheap description that loads weights only on request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from torch import nn


class ModelSpec(Protocol):
    """A model family entry of the ``model`` config group.

    Instantiating a spec is cheap (no weights are read), so the whole config can be validated
    before anything heavy happens. Weights load in ``load_classifier``.

    A spec may also carry ``notice`` (``CarriesNotice``): a line every run with it prints and
    logs (a licence's terms); read through ``notice_of``, so specs written without one keep
    working.
    """

    def problems(self) -> list[str]:
        """List config problems (missing artifact fields, bad sizes, ...)."""
        ...

    def model_type(self) -> str | None:
        """The Hugging Face ``model_type`` (``bert``, ``llama``...), read without weights."""
        ...

    def config_values(self) -> dict[str, Any]:
        """What the config check reads of the model's config, without weights.

        E.g. ``model_type``, ``vocab_size``, ``max_position_embeddings``; ``{}`` where the
        config cannot be read offline.
        """
        ...

    def load_processor(self) -> Any:
        """Load what turns raw inputs into model inputs (tokenizer, image processor)."""
        ...

    def load_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """Load a sequence-classification model with a fresh head for ``labels``."""
        ...

    def portable_name(self) -> str:
        """A base-model reference for exported adapters: a hub id or the pinned artifact."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return what is needed to rebuild the base model later (stored with the run)."""
        ...


@runtime_checkable
class BuildsMetaModel(Protocol):
    """A spec that builds its model's shapes itself (from a config) for the memory estimate."""

    def meta_model(self, task: Any, labels: list[str] | None) -> nn.Module:
        """The model of ``task`` on the meta device: shapes only, no weights read."""
        ...


@runtime_checkable
class CarriesNotice(Protocol):
    """A spec with a line every run with it prints and logs (e.g. a licence's terms)."""

    notice: str | None


def notice_of(spec: ModelSpec) -> str | None:
    """The spec's ``notice``, or None for a spec that has none (or does not carry one)."""
    return spec.notice or None if isinstance(spec, CarriesNotice) else None


def label_maps(labels: list[str]) -> dict[str, Any]:
    """Return the ``num_labels``/``id2label``/``label2id`` kwargs for a HF config."""
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }


def meta_backbone(spec: ModelSpec, task: Any, labels: list[str] | None) -> nn.Module:
    """The pretrained model of ``task`` for ``spec`` on the meta device (no weights read)."""
    import torch

    if isinstance(spec, BuildsMetaModel):
        return spec.meta_model(task, labels)
    with torch.device("meta"):
        return task.load(spec, labels)


def seeded_model(build: Callable[[], nn.Module], seed: int, load_kwargs: dict[str, Any]) -> Any:
    """A model built in-process whose weights depend on ``seed`` alone, load options applied.

    The global random state is left as it was, so building a model draws nothing from the
    run's own stream. The one path for every random-init model (tiny BERT, ViT, random LMs).
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build()
    return with_load_options(model, load_kwargs)


def with_load_options(model: Any, load_kwargs: dict[str, Any]) -> Any:
    """A model built in-process, reloaded through ``from_pretrained`` when load options are set.

    Options such as a quantisation config only apply on load, so they go through a real
    ``save_pretrained`` / ``from_pretrained`` round trip, exactly as for a pretrained model.
    """
    if not load_kwargs:
        return model
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        return type(model).from_pretrained(tmp, **load_kwargs)
