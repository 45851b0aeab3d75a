"""A finished run read back from its run dir: its parts, its model (HF or PEFT format), its data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ftexp.contract import ModelTask
from ftexp.errors import RunError
from ftexp.parts import Parts

if TYPE_CHECKING:
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedTokenizerBase


@dataclass(frozen=True)
class SavedRun:
    """A finished run: where it is, its config, the parts it was built from and its model task.

    Read from ``config.yaml`` alone (no weights): the method that trained the model decides how
    it is rebuilt (full weights, or base model + adapter), so ``load`` works for every method
    without branching on its name.
    """

    run_dir: Path
    config: DictConfig
    parts: Parts
    task: ModelTask

    @classmethod
    def read(cls, run_dir: str | Path) -> SavedRun:
        """The run saved in ``run_dir``; ``RunError`` when it is not a finished ftexp run."""
        run = Path(run_dir)
        if not (run / "config.yaml").is_file() or not (run / "model").is_dir():
            raise RunError(
                f"{run} is not a finished ftexp run (needs config.yaml and model/); "
                "pass the run dir printed at the end of training"
            )
        cfg = OmegaConf.load(run / "config.yaml")
        assert isinstance(cfg, DictConfig)
        # a _target_ recorded before a move still imports (ftexp.MOVED)
        parts = Parts(**{name: instantiate(cfg[name], _convert_="all") for name in Parts.names()})
        # the objective's contract: which model it trained on this data
        return cls(run, cfg, parts, parts.objective.model_task(type(parts.data)))

    @classmethod
    def of(cls, run: SavedRun | str | Path) -> SavedRun:
        """``run`` itself, or the run saved in the run dir it names."""
        return run if isinstance(run, SavedRun) else cls.read(run)

    def serving(self, command: str) -> SavedRun:
        """This run, or ``RunError`` when ``command`` does not serve its kind of model.

        Checked from the config, before the model loads: generating from a classifier, or
        predicting classes with a language model, is refused with the commands that do fit.
        """
        if command not in self.task.commands:
            fitting = ", ".join(f"python -m ftexp.cli.{c}" for c in sorted(self.task.commands))
            raise RunError(
                f"python -m ftexp.cli.{command} does not serve {self.run_dir}: that run trained "
                f"a {self.task.name}; for it use {fitting}"
            )
        return self

    def load(self) -> tuple[nn.Module, PreTrainedTokenizerBase, list[str]]:
        """``(model in eval mode, tokenizer or image processor, label names)``; LMs: no labels."""
        model_dir = self.run_dir / "model"
        processor = self.task.load_processor(model_dir)
        model = self.parts.method.load_saved(self.parts.model, model_dir, self.task)
        if not self.task.labelled:
            return model.eval(), processor, []
        config = cast("PretrainedConfig", model.config)  # every saved model is a transformers one
        labels = [config.id2label[i] for i in range(config.num_labels)]
        return model.eval(), processor, labels


def load_run(run: SavedRun | str | Path) -> tuple[nn.Module, PreTrainedTokenizerBase, list[str]]:
    """The saved model in eval mode, its processor and label names (``SavedRun.load``)."""
    return SavedRun.of(run).load()
