"""ftexp: fine-tuning experiments on Lightning + Hydra.

Modules that moved keep answering to their old names (``MOVED``), so what was written before a
move still works: a saved run's ``config.yaml`` (``_target_: ftexp.rewards.ExactAnswer``), a
``conf/`` overlay of your own, a script's ``from ftexp.reload import load_run``, and the old
commands (``python -m ftexp.predict`` runs ``ftexp.cli.predict``). The old name is the same
module object as the new one, so classes compare equal across both spellings.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import CodeType, ModuleType

__version__ = "0.1.0"

_COMMANDS = ("predict", "export", "latency", "generate", "evaluate")

# old name -> (the module an import gets, the module ``python -m <old name>`` runs)
MOVED: dict[str, tuple[str, str]] = {
    **{f"ftexp.{name}": (f"ftexp.serve.{name}", f"ftexp.cli.{name}") for name in _COMMANDS},
    **{
        old: (new, new)
        for old, new in {
            "ftexp.compare": "ftexp.cli.compare",
            "ftexp.harness": "ftexp.serve.harness",
            "ftexp.reload": "ftexp.run.reload",
            "ftexp.eval_sets": "ftexp.run.eval_sets",
            "ftexp.checkpoint_io": "ftexp.run.checkpoint_io",
            "ftexp.settings": "ftexp.checks.settings",
            "ftexp.method_overrides": "ftexp.checks.method_overrides",
            "ftexp.utils.config_check": "ftexp.checks.config_check",
            "ftexp.utils.override_check": "ftexp.checks.override_check",
            "ftexp.utils.trainer_settings": "ftexp.checks.trainer_settings",
            "ftexp.utils.devices": "ftexp.checks.devices",
            "ftexp.artifacts": "ftexp.infra.artifacts",
            "ftexp.cluster": "ftexp.infra.cluster",
            "ftexp.console": "ftexp.infra.console",
            "ftexp.sweep_resume": "ftexp.infra.sweep_resume",
            "ftexp.tracker_login": "ftexp.infra.tracker_login",
            "ftexp.tracking": "ftexp.infra.tracking",
            "ftexp.wandb_offline": "ftexp.infra.wandb_offline",
            "ftexp.utils.hydra_ddp": "ftexp.infra.hydra_ddp",
            "ftexp.figures": "ftexp.objectives.classify.figures",
            # objectives before each had its folder (run dirs name them in objective._target_)
            "ftexp.objectives.sft": "ftexp.objectives.lm",
            "ftexp.objectives.mlm": "ftexp.objectives.lm",
            "ftexp.objectives.reward": "ftexp.objectives.preference",
            "ftexp.objectives.dpo": "ftexp.objectives.preference",
            "ftexp.objectives.upft": "ftexp.objectives.rl",
            "ftexp.objectives.weighting": "ftexp.objectives.multitask.weighting",
        }.items()
    },
}


def current_path(dotted: str) -> str:
    """Today's spelling of a dotted path recorded before a move.

    ``ftexp.objectives.sft.SFT`` is ``ftexp.objectives.lm.SFT``; a path that never moved comes
    back as it is.
    """
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        moved = MOVED.get(".".join(parts[:end]))
        if moved:
            return ".".join([moved[0], *parts[end:]])
    return dotted


class _MovedLoader(importlib.abc.Loader):
    """Hands out the moved module itself, and the command's code to ``python -m``."""

    def __init__(self, module: str, command: str) -> None:
        self.module, self.command = module, command
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.module)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import machinery set the old name's spec on it

    def get_code(self, fullname: str) -> CodeType | None:
        """The code ``runpy`` runs for ``python -m <old name>``: the command's main module."""
        spec = importlib.util.find_spec(self.command)
        loader = spec.loader if spec else None
        return (
            loader.get_code(self.command)
            if isinstance(loader, importlib.abc.InspectLoader)
            else None
        )


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Finds an old module name in ``MOVED``."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        module, command = MOVED[fullname]
        command_spec = importlib.util.find_spec(command)
        origin = command_spec.origin if command_spec else None
        return importlib.machinery.ModuleSpec(
            fullname, _MovedLoader(module, command), origin=origin
        )


if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedFinder())
