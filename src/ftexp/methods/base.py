"""The method protocol: which parameters train and how the backbone is rewritten."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask
    from ftexp.models.base import ModelSpec


@dataclass
class Method:
    """How a pretrained backbone is made trainable. Subclasses stay small and hold no loss code.

    Attributes:
        lr: the learning rate this method is tuned for; ``optim.lr`` defaults to it, because good
            rates differ by ~10x between full fine-tuning and adapters.
    """

    lr: float = 5e-5
    # True when ``reference`` can give the untrained model without a copy (PEFT adapters)
    reference_by_disabling = False
    # strategy name -> why this method cannot run under it (checked at config time)
    incompatible_strategies: ClassVar[dict[str, str]] = {}
    # ``save`` writes only what the method added (an adapter), not a full model
    saves_adapter: ClassVar[bool] = False

    def problems(self) -> list[str]:
        """List config problems, each naming the key and the fix (empty when valid)."""
        return [] if self.lr > 0 else [f"method.lr must be > 0, got {self.lr}"]

    def task_problems(self, task: ModelTask) -> list[str]:
        """Why this method cannot serve a model of ``task`` (checked at config time)."""
        return []

    def family_problems(self, family: str | None) -> list[str]:
        """Why this method cannot serve the model family ``family`` (its config's model_type)."""
        return []

    def named_targets(self) -> list[str]:
        """Layer names the settings name explicitly; none by default.

        They are checked against the model's layers before weights load.
        """
        return []

    def load_kwargs(self) -> dict[str, Any]:
        """Extra kwargs for loading the backbone (e.g. a quantization config)."""
        return {}

    def apply(self, model: nn.Module, task: ModelTask) -> nn.Module:
        """Return the model (loaded for ``task``) with the method applied, ``requires_grad`` set."""
        raise NotImplementedError

    def weight_bytes(self, model: nn.Module) -> int:
        """Bytes the weights of ``model`` (with the method applied) take on the device."""
        return sum(p.numel() * p.element_size() for p in model.parameters())

    def optimizer_parameters(self, model: nn.Module) -> list[tuple[str, nn.Parameter]]:
        """Parameters the optimiser owns: those trainable now (gradual unfreezing adds more)."""
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def param_lr_scales(self, model: nn.Module) -> dict[str, float]:
        """Per-parameter learning-rate multipliers (missing names use 1.0)."""
        return {}

    @contextmanager
    def reference(self, model: nn.Module) -> Iterator[nn.Module]:
        """The model as it was before training (only where ``reference_by_disabling``)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no reference; copy the base")
        yield model

    def convert(self, model: nn.Module) -> nn.Module | None:
        """Return a deployment form to evaluate after training (e.g. really quantised), or None."""
        return None

    def merged(self, model: nn.Module) -> nn.Module:
        """The trained model as one plain model (the method folded in); full weights as they are."""
        return model

    def callbacks(self) -> list[Any]:
        """Lightning callbacks the method needs during training (e.g. an unfreezing schedule)."""
        return []

    def save(self, model: nn.Module, out_dir: Path) -> None:
        """Save in Hugging Face format (PEFT models write adapter weights only)."""
        model.save_pretrained(out_dir)  # type: ignore[operator]

    def load_saved(self, spec: ModelSpec, out_dir: Path, task: ModelTask) -> nn.Module:
        """Reload what ``save`` wrote; the default reads a complete HF model folder."""
        return task.load_saved(out_dir, **self.load_kwargs())

    def load_base(self, spec: ModelSpec, out_dir: Path, task: ModelTask) -> nn.Module:
        """Load the untrained base a saved adapter belongs to (labels saved beside it)."""
        from ftexp.models.vocab import restore_new_rows

        labels = saved_labels(out_dir) if task.labelled else None
        model = task.load(spec, labels, **self.load_kwargs())
        restore_new_rows(model, out_dir)  # tokens the run added to the vocabulary, if any
        return model


LABELS_FILE = "labels.json"


def save_labels(labels: list[str], out_dir: Path) -> None:
    """Store class names beside a saved model (adapter folders have no ``config.json``)."""
    (out_dir / LABELS_FILE).write_text(json.dumps(list(labels)), encoding="utf-8")


def saved_labels(out_dir: Path) -> list[str]:
    """Read the class names stored by ``save_labels``."""
    return list(json.loads((out_dir / LABELS_FILE).read_text(encoding="utf-8")))


def train_head_and(
    model: nn.Module, also_train: list[str], extra: Callable[[str], bool] | None = None
) -> None:
    """Freeze everything except the task head and the names a method asks for.

    Kept trainable: the head, names containing an ``also_train`` substring, names ``extra``
    accepts, and embedding rows added to the vocabulary (``train_rows_from``: a method that
    re-freezes during training, like gradual unfreezing, must not freeze them). Callers then
    open whatever else their method trains (e.g. the top blocks).
    """
    from ftexp.utils.params import head_parameter_names, trained_from_row

    head = set(head_parameter_names(model))
    for name, param in model.named_parameters():
        added_rows = trained_from_row(param) is not None
        keep = name in head or added_rows or any(s in name for s in also_train)
        param.requires_grad_(keep or (extra is not None and extra(name)))
