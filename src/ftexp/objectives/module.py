"""The LightningModule base: builds the backbone lazily, owns optimisers and checkpoints."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Literal, cast

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import nn
from torchmetrics import MeanMetric

from ftexp.contract import ModelTask
from ftexp.memory.passes import ModelPass, model_inputs
from ftexp.methods.base import Method
from ftexp.models.base import ModelSpec, meta_backbone
from ftexp.models.vocab import grow_embeddings, train_new_rows
from ftexp.objectives.objective import Objective, run_identity
from ftexp.optim import AdamWConfig, scale_row_steps
from ftexp.speed import SpeedConfig
from ftexp.utils.fsdp import full_state_dict, fully_shard_blocks
from ftexp.utils.params import (
    count_parameters,
    describe_counts,
    head_module_names,
    hold_frozen_norm_statistics,
)

Stage = Literal["train", "val", "test"]
Batch = dict[str, torch.Tensor]


class FinetuneModule(L.LightningModule):
    """Holds a model spec and a method; weights load in ``configure_model`` into ``model``.

    Subclasses (objectives) fill in one step template: ``step(batch, stage)`` computes the
    loss and logs the metrics of one batch at any stage (the training loss is returned), and
    ``end_epoch(stage)`` logs what a validation or test epoch accumulated. Lightning's hooks
    are routed to them here, once. Subclasses never branch on the method: everything
    method-specific lives behind the ``Method`` interface. What the model is (its
    ``ModelTask``) and the objective's settings come from the ``Objective`` spec.

    Class attributes:
        eval_means: metrics averaged over every evaluated example (``{stage}/{name}``), across
            ranks too: each example counts once however the split is sharded.
    """

    eval_means: tuple[str, ...] = ()

    def __init__(
        self,
        spec: ModelSpec,
        method: Method,
        optim: AdamWConfig,
        objective: Objective,
        task: ModelTask,
        speed: SpeedConfig | None = None,
        labels: list[str] | None = None,
        processor: Any = None,
        new_tokens: int = 0,
    ) -> None:
        super().__init__()
        self.spec, self.method, self.optim, self.objective = spec, method, optim, objective
        self.task = task
        self.speed = speed or SpeedConfig()
        # a labelled head, or an objective that scores the data's classes another way
        knows_classes = task.labelled or objective.scores_classes
        self.labels = objective.head_labels(labels) if knows_classes else None
        self.processor = processor
        self.new_tokens = new_tokens  # tokens added to the processor's vocabulary (the last ids)
        self.eval_sets: dict[str, Any] = {}  # extra labelled sets scored after the test
        self.model: nn.Module | None = None
        self.head_modules: set[str] = set()  # modules outside the pretrained backbone
        self.param_counts: dict[str, int] = {}
        self.means = nn.ModuleDict(
            {f"{s}_{name}": MeanMetric() for s in ("val", "test") for name in self.eval_means}
        )

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Frozen batch norms keep their pretrained statistics.

        A batch norm whose weights do not train would still move its running mean and variance
        in train mode: the frozen part of the network would change, and an adapter saved without
        those buffers would not reload into the model that was trained. Lightning sets modes
        module by module after each validation, so this is asked before every training batch.
        """
        hold_frozen_norm_statistics(self)

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor | None:
        """Loss and metrics of one batch at ``stage``; returns the loss to minimise."""
        raise NotImplementedError

    def end_epoch(self, stage: Stage) -> None:
        """Log what a validation or test epoch accumulated (nothing by default)."""

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor | None:
        """The objective's loss on one training batch."""
        return self.step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        """The objective's metrics on one validation batch."""
        self.step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        """The objective's metrics on one test batch."""
        self.step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        """Log the validation epoch's metrics."""
        self.end_epoch("val")

    def on_test_epoch_end(self) -> None:
        """Log the test epoch's metrics."""
        self.end_epoch("test")

    def log_mean(self, stage: str, name: str, values: torch.Tensor, **kwargs: object) -> None:
        """Log the mean of per-example ``values``; val/test means count every example once."""
        if stage == "train":
            self.log(f"train/{name}", values.float().mean(), batch_size=len(values), **kwargs)
            return
        metric = cast(MeanMetric, self.means[f"{stage}_{name}"])
        metric.update(values.detach().float())
        self.log(f"{stage}/{name}", metric, on_step=False, on_epoch=True, **kwargs)

    @property
    def strict_loading(self) -> bool:
        """Checkpoints hold trainable tensors only; frozen weights come from the spec."""
        return False

    def build_backbone(self) -> nn.Module:
        """Load the pretrained model of this objective's task."""
        return self.task.load(self.spec, self.labels, **self.load_kwargs())

    def load_kwargs(self) -> dict[str, Any]:
        """Loading options from the method (e.g. quantisation) and the speed settings."""
        return {**self.speed.load_kwargs(), **self.method.load_kwargs()}

    def configure_model(self) -> None:
        """Load the backbone and apply the method (the hook can run more than once)."""
        if self.model is not None:
            return
        # from_pretrained returns eval mode; fine-tuning wants dropout on, as HF Trainer has it
        self.model = self.speed.finalize(self.prepared(self._backbone_with_method().train()))
        trainable, total = count_parameters(self.model)
        if self.sharded:  # trainer=fsdp: counted above, before the weights are split
            fully_shard_blocks(self.model, self.device_mesh["data_parallel"])
        self.param_counts = {"params/trainable": trainable, "params/total": total}
        if self.new_tokens:
            self.param_counts["params/added_tokens"] = self.new_tokens
        counts = describe_counts(trainable, total)
        rank_zero_info(f"[ftexp] {type(self.method).__name__}: {counts}")

    def recount_trainable(self) -> None:
        """Keep ``params/trainable`` at the most parameters trained at once.

        A method whose trainable set grows during training (gradual unfreezing) calls this
        after it grows; the count at the start would understate what the run trained.
        """
        assert self.model is not None
        trainable, _ = count_parameters(self.model)
        widest = max(self.param_counts.get("params/trainable", 0), trainable)
        self.param_counts["params/trainable"] = widest

    def prepared(self, model: nn.Module) -> nn.Module:
        """The model as this objective uses it, before counting (default: as the method left it)."""
        return model

    @property
    def sharded(self) -> bool:
        """Whether the weights are split across ranks (FSDP2 through ``trainer=fsdp``)."""
        return self._device_mesh is not None

    def exportable_model(self) -> nn.Module | None:
        """The trained model as one ordinary module, for saving; None on ranks other than 0.

        Under FSDP2 every rank must call it: the shards are gathered into rank 0's fresh,
        unsharded copy of the same model (backbone + method).
        """
        assert self.model is not None
        if not self.sharded:
            return self.model if self.trainer.is_global_zero else None
        state = full_state_dict(self.model)
        if not self.trainer.is_global_zero:
            return None
        model = self._backbone_with_method()
        model.load_state_dict(state)
        return model

    def _backbone_with_method(self, backbone: nn.Module | None = None) -> nn.Module:
        """Load the backbone (or take ``backbone``) and rewrite it with the method.

        The model before any training.
        """
        backbone = self.speed.prepare_backbone(
            self.build_backbone() if backbone is None else backbone
        )
        self.head_modules = head_module_names(backbone)
        if not self.new_tokens:
            return self.method.apply(backbone, self.task)
        on_meta = next(backbone.parameters()).is_meta  # the memory estimate's shapes-only copy
        grow_embeddings(backbone, len(self.processor), drawn=not on_meta)
        model = self.method.apply(backbone, self.task)
        train_new_rows(model, self.first_new_row)
        return model

    def meta_model(self) -> nn.Module:
        """The model ``configure_model`` builds, on the meta device: shapes, no weights read."""
        backbone = meta_backbone(self.spec, self.task, self.labels)
        return self.prepared(self._backbone_with_method(backbone).train())

    def meta_reference(self, model: nn.Module) -> nn.Module | None:
        """The frozen reference copy the objective keeps beside ``model`` (none by default)."""
        return None

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """The model calls of one training step on ``batch`` (for the memory estimate)."""
        return [ModelPass(model_inputs(batch, self.task.inputs), grad=self.objective.trains)]

    @property
    def first_new_row(self) -> int:
        """The embedding row of the first token added to the vocabulary."""
        return len(self.processor) - self.new_tokens

    def configure_optimizers(self) -> Any:
        """AdamW over trainable parameters with a per-step warmup/decay schedule."""
        assert self.model is not None
        named = self.method.optimizer_parameters(self.model)
        scales = self.method.param_lr_scales(self.model)
        optimizer, scheduler = self.optim.build(
            named + self.objective_parameters(),
            int(self.trainer.estimated_stepping_batches),
            self.optim.head_scales([n for n, _ in named], self.head_modules, scales),
        )
        if self.new_tokens and self.optim.new_rows_lr is not None:
            weight = self.model.get_input_embeddings().weight  # type: ignore[operator]
            own = self.optim.lr * scales.get(next(n for n, p in named if p is weight), 1.0)
            scale_row_steps(optimizer, weight, self.first_new_row, self.optim.new_rows_lr / own)
        schedule = {"scheduler": scheduler, "interval": "step"}
        return {"optimizer": optimizer, "lr_scheduler": schedule}

    def objective_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """Trainable parameters the objective keeps beside the model (none by default)."""
        return []

    def on_train_start(self) -> None:
        """Hand a resumed run's data position to the train loader.

        ``configure_optimizers`` asks for ``estimated_stepping_batches``, which builds the train
        loader before Lightning restores the loop state, and Lightning then never passes the
        saved loader state on; without this a resumed run would repeat the epoch's first batches.
        """
        fit_loop: Any = self.trainer.fit_loop
        if getattr(fit_loop, "_combined_loader_states_to_load", None):
            fit_loop._load_combined_loader_states()

    def write_figures(self, out_dir: Path) -> list[str]:
        """Write the objective's test figures into the run dir (rank 0); their file names."""
        return []

    def on_fit_start(self) -> None:
        """Record parameter counts with the loggers."""
        for logger in self.loggers:
            logger.log_hyperparams(self.param_counts)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the random streams (dropout, sampling) so a resumed run repeats exactly."""
        states = checkpoint.get("ftexp_rng")
        if states is not None:
            restore_rng(own_rank_state(states))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep only trainable tensors: a LoRA checkpoint of a 1B model is then a few MB."""
        checkpoint["ftexp_rng"] = every_rank(capture_rng())
        # checked before a resume: the same method, model and objective
        checkpoint["ftexp"] = run_identity(self.method, self.spec, self.objective)
        # the model's and any the objective adds beside it (auxiliary heads, loss weights)
        trainable = {n for n, p in self.named_parameters() if p.requires_grad}
        checkpoint["state_dict"] = {
            k: v for k, v in checkpoint["state_dict"].items() if k in trainable
        }


def capture_rng() -> dict[str, Any]:
    """The global random states that training draws from, as tensors and plain numbers.

    Plain types keep checkpoints loadable with ``torch.load(weights_only=True)``.
    """
    _, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [torch.from_numpy(np.asarray(keys, dtype=np.int64)), position, has_gauss, cached],
        "python": [version, torch.tensor(internal, dtype=torch.int64), gauss_next],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def every_rank(state: dict[str, Any]) -> list[dict[str, Any]]:
    """``state`` of every rank, in rank order (a collective: every rank saves a checkpoint).

    Ranks draw different amounts (their batches differ in length), so a resumed rank must get
    its own streams back, not rank 0's.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return [state]
    states: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(states, state)
    return states


def own_rank_state(states: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    """This rank's saved random state: its own where the world size is unchanged, else rank 0's."""
    if isinstance(states, dict):  # checkpoints written before states were kept per rank
        return states
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return states[0]
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    return states[rank] if len(states) == world else states[0]


def restore_rng(state: dict[str, Any]) -> None:
    """Put back what ``capture_rng`` saved."""
    torch.set_rng_state(state["torch"])
    keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), position, has_gauss, cached))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(int(x) for x in internal.tolist()), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
