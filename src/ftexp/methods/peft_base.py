"""Shared plumbing for PEFT-backed methods: wrap, save the adapter only, reload onto the base."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peft import PeftConfig, PeftModel, get_peft_model
from torch import nn

from ftexp.methods.base import Method


@dataclass
class PeftMethod(Method):
    """A method whose whole behaviour is a PEFT config; subclasses only build that config."""

    reference_by_disabling = True

    def peft_config(self) -> PeftConfig:
        """Return the PEFT config (task type: sequence classification)."""
        raise NotImplementedError

    def apply(self, model: nn.Module) -> nn.Module:
        """Wrap the model in a PeftModel; only the method's parameters and the head train."""
        return get_peft_model(model, self.peft_config())

    @contextmanager
    def reference(self, model: nn.Module) -> Iterator[nn.Module]:
        """The base model: the same network with every adapter switched off."""
        with model.disable_adapter():  # type: ignore[operator]
            yield model

    def load_saved(self, spec: Any, out_dir: Path) -> nn.Module:
        """Rebuild the base from the model spec, then load the saved adapter onto it."""
        return PeftModel.from_pretrained(self.load_base(spec, out_dir), out_dir)
