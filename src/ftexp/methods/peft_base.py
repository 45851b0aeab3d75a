"""Shared plumbing for PEFT-backed methods: wrap, save the adapter only, reload onto the base."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ftexp.methods.base import Method

if TYPE_CHECKING:
    from peft import PeftConfig
    from torch import nn

    from ftexp.contract import ModelTask
    from ftexp.models.base import ModelSpec


@dataclass
class PeftMethod(Method):
    """A method whose whole behaviour is a PEFT config; subclasses only build that config."""

    reference_by_disabling = True
    saves_adapter: ClassVar[bool] = True

    def peft_config(self, task_type: str | None) -> PeftConfig:
        """Return the PEFT config for a model of PEFT task type ``task_type``."""
        raise NotImplementedError

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Wrap the model in a PeftModel; only the method's parameters and the head train."""
        from peft import get_peft_model

        from ftexp.utils.params import head_module_names

        config = self.peft_config(task.peft_task)
        heads = head_module_names(model)
        if task.peft_task is None and task.labelled:  # PEFT's generic model: train the new head
            config.modules_to_save = sorted({*(config.modules_to_save or []), *heads})
        if task.labelled and getattr(config, "target_modules", None) == "all-linear":
            # PEFT leaves out only a sequence classifier's head; the head trains in full instead
            config.exclude_modules = sorted({*(config.exclude_modules or []), *heads})
        return get_peft_model(model, config)

    def save(self, model: nn.Module, out_dir: Path) -> None:
        """Write the adapter weights only.

        PEFT would also copy a resized embedding matrix whole (``save_embedding_layers="auto"``):
        the rows of tokens added to the vocabulary are saved beside the adapter instead.
        """
        model.save_pretrained(out_dir, save_embedding_layers=False)  # type: ignore[operator]

    @contextmanager
    def reference(self, model: nn.Module) -> Iterator[nn.Module]:
        """The base model: the same network with every adapter switched off."""
        with model.disable_adapter():  # type: ignore[operator]
            yield model

    def merged(self, model: nn.Module) -> nn.Module:
        """Fold the adapter into the base weights (a quantised base is de-quantised first)."""
        from ftexp.methods.dequantize import dequantized

        return dequantized(model.merge_and_unload())  # type: ignore[operator]

    def load_saved(self, spec: ModelSpec, out_dir: Path, task: ModelTask) -> nn.Module:
        """Rebuild the base from the model spec, then load the saved adapter onto it."""
        from peft import PeftModel

        return PeftModel.from_pretrained(self.load_base(spec, out_dir, task), out_dir)
