"""The method protocol: which parameters train and how the backbone is rewritten."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ftexp.utils.params import head_parameter_names


@dataclass
class Method:
    """How a pretrained backbone is made trainable. Subclasses stay small and hold no loss code.

    Attributes:
        lr: the learning rate this method is tuned for; ``optim.lr`` defaults to it, because good
            rates differ by ~10x between full fine-tuning and adapters.
    """

    lr: float = 5e-5

    def problems(self) -> list[str]:
        """List config problems, each naming the key and the fix (empty when valid)."""
        return [] if self.lr > 0 else [f"method.lr must be > 0, got {self.lr}"]

    def load_kwargs(self) -> dict[str, Any]:
        """Extra kwargs for loading the backbone (e.g. a quantization config)."""
        return {}

    def apply(self, model: nn.Module) -> nn.Module:
        """Return the model with the method applied and ``requires_grad`` set."""
        raise NotImplementedError

    def optimizer_parameters(self, model: nn.Module) -> list[tuple[str, nn.Parameter]]:
        """Parameters the optimiser owns: those trainable now (gradual unfreezing adds more)."""
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def param_lr_scales(self, model: nn.Module) -> dict[str, float]:
        """Per-parameter learning-rate multipliers (missing names use 1.0)."""
        return {}

    def convert(self, model: nn.Module) -> nn.Module | None:
        """Return a deployment form to evaluate after training (e.g. really quantised), or None."""
        return None

    def callbacks(self) -> list[Any]:
        """Lightning callbacks the method needs during training (e.g. an unfreezing schedule)."""
        return []

    def save(self, model: nn.Module, out_dir: Path) -> None:
        """Save in Hugging Face format (PEFT models write adapter weights only)."""
        model.save_pretrained(out_dir)  # type: ignore[operator]

    def load_saved(self, spec: Any, out_dir: Path) -> nn.Module:
        """Reload what ``save`` wrote; the default reads a complete HF model folder."""
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(out_dir, **self.load_kwargs())


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

    Kept trainable: the head, names containing an ``also_train`` substring, and names ``extra``
    accepts. Callers then open whatever else their method trains (e.g. the top blocks).
    """
    head = set(head_parameter_names(model))
    for name, param in model.named_parameters():
        keep = name in head or any(s in name for s in also_train)
        param.requires_grad_(keep or (extra is not None and extra(name)))
