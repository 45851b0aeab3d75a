"""Token classification (NER): cross-entropy per word, entity-level P / R / F1 per type."""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn
from torchmetrics import Metric

from ftexp.batch import IGNORE
from ftexp.metrics.entities import entity_counts, entity_types, scores
from ftexp.objectives.module import Batch, FinetuneModule, Stage


class EntityScores(Metric):
    """Exact-match entity counts per type, summed over batches and ranks."""

    def __init__(self, tag_names: list[str]) -> None:
        super().__init__()
        self.types = entity_types(tag_names)
        self.counts: torch.Tensor
        self.add_state("counts", torch.zeros(len(self.types), 3), dist_reduce_fx="sum")

    def update(self, gold: list[list[str]], predicted: list[list[str]]) -> None:
        """Add the entities of a batch of word-level tag sequences."""
        found = entity_counts(gold, predicted)
        for i, kind in enumerate(self.types):
            row = [found[kind, "tp"], found[kind, "pred"], found[kind, "gold"]]
            self.counts[i] += torch.tensor(row, dtype=self.counts.dtype, device=self.counts.device)

    def compute(self) -> dict[str, float]:
        """Micro precision / recall / F1 over all types, and F1 of each type."""
        total = self.counts.sum(0).tolist()
        out = scores(*total)
        for kind, row in zip(self.types, self.counts.tolist(), strict=True):
            out[f"f1_{kind}"] = scores(*row)["f1"]
        return out


class TokenClassifyModule(FinetuneModule):
    """Fine-tune a token classifier; logs ``{stage}/loss|precision|recall|f1|f1_<type>``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = list(self.labels or [])
        self.entities = nn.ModuleDict({s: EntityScores(names) for s in ("val", "test")})

    def forward(self, batch: Batch) -> torch.Tensor:
        """Logits ``(batch, tokens, tags)`` aligned with the batch's tokens.

        Input-level soft prompts (prompt tuning, P-tuning) prepend virtual tokens to the
        sequence; their positions are dropped so every method scores the same tokens.
        """
        assert self.model is not None
        logits = self.model(**{k: batch[k] for k in self.task.inputs}).logits
        return logits[:, -batch["tags"].shape[1] :]

    def _loss(self, logits: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(
            logits.float().flatten(0, 1), tags.flatten(), ignore_index=IGNORE
        )

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """Cross-entropy over the tagged sub-tokens; at val/test the entities are counted."""
        logits = self(batch)
        tags = batch["tags"]
        loss = self._loss(logits, tags)
        if stage == "train":
            self.log("train/loss", loss, prog_bar=True, batch_size=len(tags))
            return loss
        self.log(f"{stage}/loss", loss, batch_size=len(tags), sync_dist=True)
        names = list(self.labels or [])
        scored = tags != IGNORE
        words = [
            [[names[t] for t in row[keep].tolist()] for row, keep in zip(rows, scored, strict=True)]
            for rows in (tags, logits.argmax(-1))
        ]
        metric = cast(EntityScores, self.entities[stage])
        metric.update(*words)
        return loss

    def end_epoch(self, stage: Stage) -> None:
        """Log the split's entity scores."""
        metric = cast(EntityScores, self.entities[stage])
        values = metric.compute()
        self.log_dict({f"{stage}/{k}": v for k, v in values.items() if k != "f1"})
        self.log(f"{stage}/f1", values["f1"], prog_bar=True)
        metric.reset()
