"""Sequence classification: cross-entropy, with accuracy / macro-F1 / AUROC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from ftexp.objectives.module import Batch, FinetuneModule, Stage


class TopClassShare(Metric):
    """Share of examples predicted as the most predicted class (1.0: the model collapsed)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.counts: torch.Tensor
        self.add_state("counts", torch.zeros(num_classes), dist_reduce_fx="sum")

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        """Count the predicted classes of a batch."""
        predicted = probs.argmax(-1)
        self.counts += torch.bincount(predicted, minlength=len(self.counts)).to(self.counts)

    def compute(self) -> torch.Tensor:
        """The largest predicted-class share."""
        return self.counts.max() / self.counts.sum().clamp(min=1)


class ClassifyModule(FinetuneModule):
    """Fine-tune a sequence classifier; logs ``{stage}/loss|acc|f1|auroc|top_class_share``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        n = len(self.labels or [])
        metrics = MetricCollection(
            {
                "acc": MulticlassAccuracy(num_classes=n, average="micro"),
                "f1": MulticlassF1Score(num_classes=n, average="macro"),
                "auroc": MulticlassAUROC(num_classes=n),
                "top_class_share": TopClassShare(n),
            }
        )
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")

    def forward(self, batch: Batch) -> torch.Tensor:
        """Return logits of shape ``(batch, num_labels)``."""
        assert self.model is not None
        return self.model(**{k: batch[k] for k in self.task.inputs}).logits

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """Cross-entropy on one batch; at val / test the metrics too."""
        logits = self(batch).float()
        loss = nn.functional.cross_entropy(logits, batch["label"])
        if stage == "train":
            self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["label"]))
            return loss
        self.record(logits, batch["label"], loss, stage)
        return loss

    def record(
        self, logits: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor, stage: Stage
    ) -> None:
        """Update and log the stage's loss and metrics (test: keep the probabilities)."""
        probs = logits.softmax(-1)
        metrics = self.val_metrics if stage == "val" else self.test_metrics
        metrics.update(probs, labels)
        size = len(labels)
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=size, sync_dist=True)
        self.log_dict(metrics, prog_bar=stage == "val", batch_size=size)
        if stage == "test":
            self.test_outputs.append((probs.detach().cpu(), labels.detach().cpu()))

    def _gathered(self, local: torch.Tensor) -> torch.Tensor:
        """Every rank's rows (shares may differ by one row: padded for the gather, then cut)."""
        sizes = self.all_gather(torch.tensor(len(local), device=self.device)).flatten().tolist()
        padded = torch.zeros((max(sizes), *local.shape[1:]), dtype=local.dtype)
        padded[: len(local)] = local
        everyone = self.all_gather(padded.to(self.device)).cpu()
        return torch.cat([rows[:n] for rows, n in zip(everyone, sizes, strict=True)])

    def score(self, loader: Any) -> dict[str, float]:
        """Accuracy, macro-F1 and AUROC of the current model on a loader (eval sets)."""
        assert self.model is not None
        metrics = self.test_metrics.clone().to(self.device)
        metrics.reset()
        was_training = self.model.training
        self.model.eval()
        count = 0
        with torch.inference_mode():
            for batch in loader:
                batch = {k: v.to(self.device) for k, v in batch.items()}
                metrics.update(self(batch).float().softmax(-1), batch["label"])
                count += len(batch["label"])
        self.model.train(was_training)
        scores = {k.rsplit("/", 1)[-1]: float(v) for k, v in metrics.compute().items()}
        return {**scores, "n": float(count)}

    def on_test_epoch_start(self) -> None:
        """Start collecting this test's probabilities."""
        self.test_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def write_figures(self, out_dir: Path) -> list[str]:
        """A ROC curve and a confusion matrix of the test split (every rank's examples)."""
        from ftexp.objectives.classify.figures import confusion_png, roc_png

        probs = torch.cat([p for p, _ in self.test_outputs])
        labels = torch.cat([y for _, y in self.test_outputs])
        if self.trainer.world_size > 1:  # every rank holds its shard: gather all of them
            probs, labels = self._gathered(probs), self._gathered(labels)
        if not self.trainer.is_global_zero:
            return []
        names = list(self.labels or [])
        roc_png(probs.numpy(), labels.numpy(), names, out_dir / "roc.png")
        confusion_png(probs.argmax(-1).numpy(), labels.numpy(), names, out_dir / "confusion.png")
        return ["roc.png", "confusion.png"]
