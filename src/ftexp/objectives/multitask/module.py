"""Classification with a masked-LM auxiliary on one shared encoder, losses weighted over time."""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn
from torchmetrics import MeanMetric

from ftexp.batch import IGNORE
from ftexp.data.collate import mask_tokens
from ftexp.models.vocab import grow_embeddings
from ftexp.objectives.classify.module import ClassifyModule
from ftexp.objectives.lm.module import masked_lm_loss
from ftexp.objectives.module import Batch, Stage
from ftexp.objectives.multitask.spec import Multitask


class SharedEncoderHead(nn.Module):
    """A task model run on another model's encoder; only its own head is registered here.

    ``model`` (a Hugging Face model) gets ``encoder`` as its base model, so the method's
    adapters inside that encoder (LoRA, bottleneck adapters, ...) serve both tasks, and its
    output embeddings are re-tied to the shared input embeddings when its config ties them.
    """

    model: Any  # the whole task model, kept unregistered

    def __init__(self, model: nn.Module, encoder: Any) -> None:
        super().__init__()
        prefix = str(model.base_model_prefix)
        setattr(model, prefix, encoder)
        config: Any = model.config
        if getattr(config, "tie_word_embeddings", False):
            output: Any = model.get_output_embeddings()  # type: ignore[operator]
            output.weight = encoder.get_input_embeddings().weight
        self.head = nn.ModuleDict({n: m for n, m in model.named_children() if n != prefix})
        object.__setattr__(self, "model", model)  # not registered: the encoder is not ours

    def forward(self, **inputs: object) -> Any:
        """The task model's output on the shared encoder."""
        return self.model(**inputs)


class MultitaskModule(ClassifyModule):
    """``objective=multitask``: L = alpha_classify(t) L_classify + alpha_mlm(t) L_mlm.

    Logs the classifier's metrics under their usual names (``val/acc``, ...; the saved model is
    the classifier), and per task: ``{stage}/mlm_loss``, ``train/loss_<task>`` and
    ``train/alpha_<task>``.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.weighting = self.settings.weighting.build(self.settings.tasks)
        self.mlm_losses = nn.ModuleDict({s: MeanMetric() for s in ("val", "test")})
        self.auxiliary: SharedEncoderHead | None = None

    @property
    def settings(self) -> Multitask:
        """The ``objective.*`` settings."""
        return cast(Multitask, self.objective)

    def configure_model(self) -> None:
        """The classifier (with the method), then the masked-LM head on its encoder."""
        if self.model is not None:
            return
        super().configure_model()
        assert self.model is not None
        main: Any = (
            self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        )
        mlm = self.spec.load_masked_lm(**self.speed.load_kwargs())
        if self.new_tokens:
            grow_embeddings(mlm, len(self.processor))
        encoder = getattr(main, str(main.base_model_prefix))
        self.auxiliary = SharedEncoderHead(mlm.to(self.device).train(), encoder)

    def objective_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The masked-LM head's own parameters and any learned loss weights."""
        shared = {id(p) for p in self.model.parameters()} if self.model is not None else set()
        named = [*self.weighting.named_parameters("weighting")]
        if self.auxiliary is not None:
            named += self.auxiliary.named_parameters("auxiliary")
        return [(n, p) for n, p in named if p.requires_grad and id(p) not in shared]

    def task_losses(self, batch: Batch, train: bool) -> dict[str, Any]:
        """Each task's loss on the batch, and the classifier's logits."""
        assert self.auxiliary is not None
        logits = self(batch).float()
        ids = batch["input_ids"].cpu()
        # evaluation masks are fixed per batch; training draws from the global (checkpointed) RNG
        generator = None if train else torch.Generator().manual_seed(int(ids.sum()))
        masked, labels = mask_tokens(ids, self.processor, self.settings.mlm_probability, generator)
        mask = batch["attention_mask"]
        labels = labels.to(mask.device).masked_fill(mask == 0, IGNORE)
        inputs = {"input_ids": masked.to(mask.device), "attention_mask": mask}
        return {
            "classify": nn.functional.cross_entropy(logits, batch["label"]),
            "mlm": masked_lm_loss(self.auxiliary.model, inputs, labels),
            "mlm_tokens": (labels != IGNORE).sum(),
            "logits": logits,
        }

    def progress(self) -> float:
        """Share of the optimiser steps done (0 at the first, 1 at the last)."""
        total = max(1, int(self.trainer.estimated_stepping_batches) - 1)
        return min(1.0, self.trainer.global_step / total)

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """The weighted sum of the task losses; at val / test the classifier's metrics too.

        Evaluation logs what ``objective=classify`` logs, and the masked-LM loss.
        """
        losses = self.task_losses(batch, train=stage == "train")
        if stage != "train":
            self.record(losses["logits"], batch["label"], losses["classify"], stage)
            mlm: Any = self.mlm_losses[stage]
            mlm.update(losses["mlm"].detach(), weight=losses["mlm_tokens"])  # token-weighted
            self.log(f"{stage}/mlm_loss", mlm, on_step=False, on_epoch=True)
            return losses["classify"]
        total, alphas = self.weighting(losses, self.progress())
        size = len(batch["label"])
        self.log("train/loss", total, prog_bar=True, batch_size=size)
        for task in self.settings.tasks:
            self.log(f"train/loss_{task}", losses[task], batch_size=size)
            self.log(f"train/alpha_{task}", float(alphas[task]), batch_size=size)
        loss: torch.Tensor = total
        return loss
