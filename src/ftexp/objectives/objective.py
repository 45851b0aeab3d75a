"""The objective protocol: settings, the batch fields it needs, the model task it trains."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ftexp.contract import ModelTask

if TYPE_CHECKING:
    from ftexp.data.base import DataOption, FinetuneData
    from ftexp.methods.base import Method
    from ftexp.models.base import ModelSpec


@dataclass
class Objective:
    """What an objective is, without its LightningModule (so it is checked before torch loads).

    Subclasses are small dataclasses: their fields are the ``objective.*`` settings, ``needs``
    lists the batch fields the module reads, ``task`` how its model is loaded and reloaded
    (``auxiliary_tasks``: heads trained beside it on the same encoder, never saved), and
    ``module_class`` imports the LightningModule lazily.
    """

    needs: ClassVar[frozenset[str]] = frozenset()
    task: ClassVar[ModelTask]
    # "package.module.Class" of the LightningModule (see ``module_class``)
    module: ClassVar[str]
    # the module scores the data's classes without a labelled head (e.g. by prompting)
    scores_classes: ClassVar[bool] = False
    # further models whose heads share the main model's encoder (e.g. multitask's masked LM)
    auxiliary_tasks: ClassVar[tuple[ModelTask, ...]] = ()
    # False: the objective only evaluates a pretrained model (e.g. in-context prompting)
    trains: ClassVar[bool] = True
    # strategy name -> why this objective cannot run under it (checked at config time)
    incompatible_strategies: ClassVar[dict[str, str]] = {}
    # test metrics a comparison shows beside the headline (``optimized_metric`` on test)
    detail_metrics: ClassVar[tuple[str, ...]] = ()

    def problems(self) -> list[str]:
        """List config problems, each naming the key and the fix (empty when valid)."""
        return []

    def data_problems(self, data: FinetuneData) -> list[str]:
        """Problems between these settings and ``data``, known before it loads (none here)."""
        return []

    @classmethod
    def model_task(cls, data: DataOption) -> ModelTask:
        """The model this objective trains on ``data`` (a data class or instance)."""
        return cls.task

    @classmethod
    def fields(cls, data: DataOption) -> frozenset[str]:
        """The batch fields this objective reads on ``data``: its ``needs``."""
        return cls.needs

    @classmethod
    def collapsed(cls, metrics: dict[str, float]) -> bool:
        """Whether a finished run's test metrics say it learned nothing (never, by default)."""
        return False

    @property
    def batch_repeats(self) -> int:
        """Times each group of training batches (one optimiser step's) is served in a row.

        1 by default; an objective that trains several steps on one batch of samples (GRPO's
        ``num_iterations``) asks for more, and the data's sampler repeats the batches.
        """
        return 1

    @property
    def seeded(self) -> bool:
        """Whether the run's seed changes what this objective does (false: one seed says all)."""
        return self.trains

    def head_labels(self, data_labels: list[str] | None) -> list[str] | None:
        """Class names the model's head is sized for (the data's, for labelled tasks)."""
        return data_labels

    def module_class(self) -> Any:
        """The LightningModule class that trains this objective (imported on demand)."""
        path, _, name = self.module.rpartition(".")
        return getattr(importlib.import_module(path), name)


def run_identity(method: Method, spec: ModelSpec, objective: Objective) -> dict[str, str]:
    """What a checkpoint records of the run that wrote it, so a resume can be checked."""
    family = spec.model_type()
    return {
        "method": type(method).__name__,
        "model": f"{type(spec).__name__} ({family or 'unknown family'})",
        "objective": type(objective).__name__,
    }
