"""Preference objectives: a Bradley-Terry reward model and direct preference optimisation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ftexp.methods.base import Method
from ftexp.models.base import ModelSpec
from ftexp.objectives.base import FinetuneModule
from ftexp.objectives.reference import ReferencePolicyModule
from ftexp.optim import AdamWConfig
from ftexp.speed import SpeedConfig


def stack_pair(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Chosen rows then rejected rows as one batch (one forward pass for both)."""
    return {
        key: torch.cat([batch[f"chosen_{key}"], batch[f"rejected_{key}"]])
        for key in ("input_ids", "attention_mask", "labels")
    }


class RewardModule(FinetuneModule):
    """Pairwise reward model (Bradley-Terry): ``loss = -log sigmoid(r_chosen - r_rejected)``.

    The backbone is a sequence classifier with one output. Logs ``{stage}/loss``,
    ``{stage}/acc`` (share of pairs ranked right) and ``{stage}/margin``.
    """

    def build_backbone(self) -> nn.Module:
        """Load the backbone with a single-output head."""
        return self.spec.load_classifier(["reward"], **self.load_kwargs())

    def rewards(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Scalar rewards of the chosen and the rejected responses."""
        assert self.model is not None
        both = stack_pair(batch)
        scores = self.model(input_ids=both["input_ids"], attention_mask=both["attention_mask"])
        chosen, rejected = scores.logits.float().squeeze(-1).chunk(2)
        return chosen, rejected

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        chosen, rejected = self.rewards(batch)
        loss = -F.logsigmoid(chosen - rejected).mean()
        size = len(chosen)
        sync = stage != "train"
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=size, sync_dist=sync)
        acc = (chosen > rejected).float().mean()
        self.log(f"{stage}/acc", acc, prog_bar=stage != "train", batch_size=size, sync_dist=sync)
        margin = (chosen - rejected).mean()
        self.log(f"{stage}/margin", margin, batch_size=size, sync_dist=sync)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Bradley-Terry loss on one batch of pairs."""
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Validation loss and ranking accuracy."""
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Test loss and ranking accuracy."""
        self._step(batch, "test")


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum of log-probabilities of the labelled (non -100) next tokens, per sequence."""
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    mask = labels != -100
    picked = torch.gather(logits.log_softmax(-1), 2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO (Rafailov et al. 2023, eq. 7); returns (loss per pair, chosen, rejected rewards).

    The implicit reward of a response is ``beta * (log pi(y|x) - log pi_ref(y|x))``;
    ``label_smoothing`` is the conservative-DPO flip probability.
    """
    chosen = beta * (policy_chosen - reference_chosen)
    rejected = beta * (policy_rejected - reference_rejected)
    margin = chosen - rejected
    loss = -(1 - label_smoothing) * F.logsigmoid(margin) - label_smoothing * F.logsigmoid(-margin)
    return loss, chosen.detach(), rejected.detach()


class DPOModule(ReferencePolicyModule):
    """Direct preference optimisation of a causal LM against a frozen reference.

    The reference: see ``ReferencePolicyModule``. Logs ``{stage}/loss``,
    ``{stage}/reward_acc``, ``{stage}/reward_margin`` and the chosen and rejected implicit
    rewards.
    """

    def __init__(
        self,
        model: ModelSpec,
        method: Method,
        optim: AdamWConfig,
        speed: SpeedConfig | None = None,
        beta: float = 0.1,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(model, method, optim, speed)
        self.beta, self.label_smoothing = beta, label_smoothing

    def logps(self, model: nn.Module, both: dict[str, torch.Tensor]) -> torch.Tensor:
        """Response log-probabilities under ``model``."""
        out = model(
            input_ids=both["input_ids"], attention_mask=both["attention_mask"], use_cache=False
        )
        return sequence_logps(out.logits, both["labels"])

    def reference_logps(self, both: dict[str, torch.Tensor]) -> torch.Tensor:
        """Response log-probabilities under the reference (no gradients)."""
        with self.reference() as reference:
            return self.logps(reference, both)

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        assert self.model is not None
        both = stack_pair(batch)
        policy_chosen, policy_rejected = self.logps(self.model, both).chunk(2)
        reference_chosen, reference_rejected = self.reference_logps(both).chunk(2)
        losses, chosen, rejected = dpo_loss(
            policy_chosen,
            policy_rejected,
            reference_chosen,
            reference_rejected,
            self.beta,
            self.label_smoothing,
        )
        loss = losses.mean()
        size, sync = len(losses), stage != "train"
        self.log(f"{stage}/loss", loss, prog_bar=True, batch_size=size, sync_dist=sync)
        values = {
            "reward_acc": (chosen > rejected).float().mean(),
            "reward_margin": (chosen - rejected).mean(),
            "reward_chosen": chosen.mean(),
            "reward_rejected": rejected.mean(),
        }
        for name, value in values.items():
            self.log(f"{stage}/{name}", value, batch_size=size, sync_dist=sync)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """DPO loss on one batch of pairs."""
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Validation DPO loss and implicit-reward accuracy."""
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Test DPO loss and implicit-reward accuracy."""
        self._step(batch, "test")
