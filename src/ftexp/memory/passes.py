"""The forward passes of one training step, as the objective makes them (shapes only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelPass:
    """One call of a model in a training step.

    Attributes:
        inputs: keyword arguments of the model's forward (tensors of the step's real shapes).
        grad: activations are kept for the backward pass (the policy), or not (a reference,
            a generation, an untrained objective).
        reference: the pass runs on the frozen reference copy, not the trained model.
        loss: how the step calls the model, ``loss(model, inputs)``, where it does not call
            it plainly (e.g. the chunked token loss); ``None``: ``model(**inputs)``.
    """

    inputs: dict[str, Any]
    grad: bool = True
    reference: bool = False
    loss: Callable[[Any, dict[str, Any]], Any] | None = None


def model_inputs(batch: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """The fields of ``batch`` the model's forward takes.

    The attention mask is left out: on the meta device a mask cannot be read, and the
    activations kept for the backward pass have the same size with or without it.
    """
    return {k: v for k, v in batch.items() if k in fields and k != "attention_mask"}
