"""``objective=kto``: each response of a pair judged on its own, against a KL reference point."""

from __future__ import annotations

from typing import cast

import torch
import torch.distributed as dist

from ftexp.batch import IGNORE
from ftexp.memory.passes import ModelPass, model_inputs
from ftexp.objectives.module import Batch, Stage
from ftexp.objectives.preference.losses import implicit_reward, kto_loss
from ftexp.objectives.preference.module import (
    PAIR_REWARD_MEANS,
    log_pair_rewards,
    response_logps,
    stack_pair,
)
from ftexp.objectives.preference.spec import KTO
from ftexp.objectives.reference import ReferencePolicyModule


def mismatched(both: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each row's prompt followed by the next row's response: KTO's sample for its KL estimate.

    Rows are right-padded and labelled only on their response; the result keeps the batch's
    width (a longer splice is cut at its end) and is right-padded the same way.
    """
    ids, labels, mask = both["input_ids"], both["labels"], both["attention_mask"].bool()
    rows, width = ids.shape
    out = {
        "input_ids": torch.zeros_like(ids),
        "attention_mask": torch.zeros_like(both["attention_mask"]),
        "labels": torch.full_like(labels, IGNORE),
    }
    lengths = mask.sum(-1).tolist()
    starts = [
        int(row.nonzero()[0]) if row.any() else n
        for row, n in zip(labels != IGNORE, lengths, strict=True)
    ]
    for row in range(rows):
        other = (row + 1) % rows
        prompt, reply = slice(0, starts[row]), slice(starts[other], lengths[other])
        spliced_ids = torch.cat([ids[row, prompt], ids[other, reply]])[:width]
        spliced_labels = torch.cat([labels[row, prompt], labels[other, reply]])[:width]
        n = len(spliced_ids)
        out["input_ids"][row, :n] = spliced_ids
        out["labels"][row, :n] = spliced_labels
        out["attention_mask"][row, :n] = 1
    return out


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of ``value`` over every rank of the job (itself when there is one)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / dist.get_world_size()


def judged_rows(batch: Batch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The batch's replies as rows, and whether each is desirable.

    A batch of pairs gives each chosen reply as desirable and each rejected one as not, chosen
    rows first; a batch of unpaired preference data carries its own ``desirable`` flags.
    """
    if "desirable" in batch:
        rows = {key: batch[key] for key in ("input_ids", "attention_mask", "labels")}
        return rows, batch["desirable"].bool()
    rows = stack_pair(batch)
    half = len(rows["input_ids"]) // 2
    desirable = torch.arange(2 * half, device=rows["input_ids"].device) < half
    return rows, desirable


class KTOModule(ReferencePolicyModule):
    """KTO: each reply judged on its own, desirable or not, against a KL reference point.

    Trains on unpaired preference data, or on pairs (the chosen reply desirable, the rejected
    one not). Logs ``{stage}/loss``, ``{stage}/kl`` (the reference point) and the implicit
    rewards ``beta * (log pi - log pi_ref)`` of the desirable (``reward_chosen``) and the
    undesirable (``reward_rejected``) replies; on pairs also their accuracy and margin, as DPO.
    """

    eval_means = ("loss", "kl", *PAIR_REWARD_MEANS)

    @property
    def settings(self) -> KTO:
        """The ``objective.*`` settings."""
        return cast(KTO, self.objective)

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """The replies through the policy and the reference; the KL sample without gradients."""
        rows = model_inputs(judged_rows(batch)[0], frozenset({"input_ids", "labels"}))
        return [
            ModelPass(rows),
            ModelPass(rows, grad=False),
            ModelPass(rows, grad=False, reference=True),
        ]

    def reference_point(self, rows: dict[str, torch.Tensor]) -> torch.Tensor:
        """z0: KL(policy || reference) on mismatched pairs, the mean over every rank, at least 0."""
        assert self.model is not None
        sample = mismatched(rows)
        with torch.no_grad():
            policy = response_logps(self.model, sample)
        with self.reference() as reference:
            kl = (policy - response_logps(reference, sample)).mean()
        return mean_over_ranks(kl).clamp(min=0)

    def step(self, batch: Batch, stage: Stage) -> torch.Tensor:
        """KTO loss of one batch: each reply's, desirable or not."""
        assert self.model is not None
        rows, desirable = judged_rows(batch)
        policy = response_logps(self.model, rows)
        with self.reference() as reference:
            reference_logps = response_logps(reference, rows)
        kl = self.reference_point(rows)
        settings = self.settings
        losses = kto_loss(
            policy,
            reference_logps,
            desirable,
            kl,
            settings.beta,
            settings.desirable_weight,
            settings.undesirable_weight,
        )
        self.log_mean(stage, "loss", losses, prog_bar=True)
        self.log_mean(stage, "kl", kl.reshape(1))
        rewards = implicit_reward(policy, reference_logps, settings.beta).detach()
        if "desirable" in batch:
            for name, kind in (("reward_chosen", desirable), ("reward_rejected", ~desirable)):
                # val / test always update (every rank logs the same keys); a train batch
                # without one kind has no mean to log
                if kind.any() or stage != "train":
                    self.log_mean(stage, name, rewards[kind])
        else:
            log_pair_rewards(self, stage, *rewards.chunk(2))
        return losses.mean()
