"""Methods ftexp implements itself (no PEFT): their trained tensors saved beside the settings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ftexp.methods.base import Method

if TYPE_CHECKING:
    from torch import nn

    from ftexp.contract import ModelTask
    from ftexp.models.base import ModelSpec


@dataclass
class OwnWeightsMethod(Method):
    """Saves what trains (its own modules, the head) and reloads it onto a rebuilt base.

    Subclasses name their two files and implement ``apply``; reloading applies the method to
    the untrained base again, then loads the saved tensors, so the saved folder stays small.
    """

    saves_adapter: ClassVar[bool] = True
    weights_file: ClassVar[str] = ""
    settings_file: ClassVar[str] = ""

    def save(self, model: nn.Module, out_dir: Path) -> None:
        """Write the trainable tensors and the method settings.

        An embedding that trains only its added rows is left out: those rows are saved beside
        the adapter (``run.save_model``), not the whole matrix.
        """
        from safetensors.torch import save_file

        from ftexp.utils.params import trained_from_row

        out_dir.mkdir(parents=True, exist_ok=True)
        tensors = {
            n: p.detach().contiguous().cpu()
            for n, p in model.named_parameters()
            if p.requires_grad and trained_from_row(p) is None
        }
        save_file(tensors, out_dir / self.weights_file)
        settings = json.dumps(asdict(self), indent=2)
        (out_dir / self.settings_file).write_text(settings, encoding="utf-8")

    def load_saved(self, spec: ModelSpec, out_dir: Path, task: ModelTask) -> nn.Module:
        """Rebuild base + method from the spec, then load the saved tensors."""
        from safetensors.torch import load_file

        model = self.apply(self.load_base(spec, out_dir, task), task)
        tensors = load_file(out_dir / self.weights_file)
        missing = set(tensors) - set(dict(model.named_parameters()))
        if missing:
            raise ValueError(
                f"{out_dir / self.weights_file} has tensors the model lacks: {sorted(missing)}"
            )
        model.load_state_dict(tensors, strict=False)
        return model
