"""Causal-LM objectives that measure the policy against where it started (DPO, RL)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ftexp.models.base import meta_backbone
from ftexp.objectives.module import FinetuneModule


class ReferencePolicyModule(FinetuneModule):
    """A decoder trained against a frozen reference: itself before training.

    The reference is the same network with the method switched off when the method can do
    that (PEFT: adapters disabled, no extra memory); otherwise a frozen copy of the base.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reference_model: nn.Module | None = None

    def build_backbone(self) -> nn.Module:
        """Load the LM; keep a frozen copy as reference if the method cannot switch off."""
        backbone = super().build_backbone()
        if not self.method.reference_by_disabling:
            self.reference_model = copy.deepcopy(backbone).eval().requires_grad_(False)
        return backbone

    def meta_reference(self, model: nn.Module) -> nn.Module | None:
        """The frozen copy ``build_backbone`` keeps, on the meta device (none when disabling)."""
        if self.method.reference_by_disabling:
            return None
        backbone = meta_backbone(self.spec, self.task, self.labels)
        return backbone.eval().requires_grad_(False)

    @contextmanager
    def reference(self) -> Iterator[nn.Module]:
        """The reference network, without gradients."""
        assert self.model is not None
        with torch.no_grad():
            if self.reference_model is not None:
                yield self.reference_model
            else:
                with self.method.reference(self.model) as reference:
                    yield reference
