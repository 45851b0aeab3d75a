"""``objective=rl``: GRPO from a reward function, with a KL penalty to the reference model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from ftexp.memory.passes import ModelPass
from ftexp.objectives.module import Batch, Stage, every_rank, own_rank_state
from ftexp.objectives.reference import ReferencePolicyModule
from ftexp.objectives.rl.losses import (
    Clip,
    clipped_share,
    group_advantages,
    k3_kl,
    policy_loss,
)
from ftexp.objectives.rl.rewards import named_rewards, score
from ftexp.objectives.rl.sampling import prompt_batch, sample, token_logps
from ftexp.objectives.rl.spec import RL


@dataclass
class SampledReplies:
    """One batch's sampled replies and what its policy-gradient steps read of them."""

    prompt_ids: torch.Tensor
    sequences: torch.Tensor
    mask: torch.Tensor
    response: torch.Tensor
    rewards: torch.Tensor
    each: dict[str, torch.Tensor]
    advantages: torch.Tensor
    old: torch.Tensor | None = None  # the sampling policy's token log-probabilities
    reference: torch.Tensor | None = None  # the reference model's

    @property
    def start(self) -> int:
        """Where the replies begin in ``sequences`` (after the left-padded prompts)."""
        return self.prompt_ids.shape[1]

    def state(self) -> dict[str, Any]:
        """Plain tensors (on the CPU) for a checkpoint that loads with ``weights_only``."""
        return dict(vars(self.to(torch.device("cpu"))))

    def to(self, device: torch.device) -> SampledReplies:
        """The same replies on ``device``."""

        def moved(tensor: torch.Tensor | None) -> Any:
            return None if tensor is None else tensor.to(device)

        return SampledReplies(
            moved(self.prompt_ids),
            moved(self.sequences),
            moved(self.mask),
            moved(self.response),
            moved(self.rewards),
            {name: moved(value) for name, value in self.each.items()},
            moved(self.advantages),
            moved(self.old),
            moved(self.reference),
        )


class GRPOModule(ReferencePolicyModule):
    """GRPO (Shao et al. 2024, arXiv:2402.03300): ``num_iterations`` updates per batch of samples.

    Per prompt, ``group_size`` responses are sampled and scored by the rewards (their weighted
    sum); advantages compare each reward with its group's (``advantages``). The loss per response
    token is the clipped surrogate plus ``kl_beta`` times the k3 estimate of
    ``KL(π || π_ref)``, averaged as ``objective.loss_type`` says (reference: see
    ``ReferencePolicyModule``). Logs ``train/reward`` (and ``train/reward_<name>`` per named
    reward), ``train/kl``, ``train/clipped`` (the share of tokens the clip holds back),
    ``val/reward`` (greedy) and writes sample generations to ``<run>/samples.jsonl``.
    """

    eval_means = ("reward",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        settings = cast(RL, self.objective)
        self.settings = settings
        self.rewards = named_rewards(settings.reward)
        self.reward_weights = dict(settings.reward_weights or {})
        self.group_size, self.max_new_tokens = settings.group_size, settings.max_new_tokens
        self.temperature, self.kl_beta = settings.temperature, settings.kl_beta
        self.samples_every = settings.samples_every
        high = settings.epsilon if settings.epsilon_high is None else settings.epsilon_high
        self.clip = Clip(settings.epsilon, high)
        # num_iterations > 1: each accumulation slot's sampled replies, trained on again
        self.kept: dict[int, SampledReplies] = {}

    def advantages(self, rewards: torch.Tensor) -> torch.Tensor:
        """Each reply's reward against its group's: standardised GRPO advantages."""
        return group_advantages(rewards, self.group_size, self.settings.scale_rewards)

    def rewards_of(
        self, batch: Batch, completions: list[str], group: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The rewards of the completions (``group`` per prompt): the total and each one's."""
        prompts = [p for p in batch["prompt_text"] for _ in range(group)]
        carried = cast(dict[str, list[Any]], batch["prompt_fields"])
        fields = {
            name: [v for v in values for _ in range(group)] for name, values in carried.items()
        }
        total, each = score(self.rewards, self.reward_weights, prompts, completions, fields)
        return total.to(self.device), each

    @property
    def tokenizer(self) -> Any:
        """The data's processor: generation and rewards need text."""
        return self.processor

    def _reference_logps(self, sequences: torch.Tensor, mask: torch.Tensor, start: int) -> Any:
        with self.reference() as reference:
            return token_logps(reference, sequences, mask, start)

    def _texts(self, sequences: torch.Tensor, start: int, response_mask: torch.Tensor) -> list[str]:
        return [
            self.tokenizer.decode(row[mask.bool()], skip_special_tokens=True).strip()
            for row, mask in zip(sequences[:, start:], response_mask, strict=True)
        ]

    def memory_passes(self, batch: Batch) -> list[ModelPass]:
        """Sampling, then the policy and the reference over each prompt's group of replies."""
        prompts = prompt_batch(batch)["input_ids"]
        rows, length = prompts.shape[0] * self.group_size, prompts.shape[1] + self.max_new_tokens
        ids = torch.zeros(rows, length, dtype=prompts.dtype, device="meta")
        replies = {"input_ids": ids, "labels": ids}
        return [
            ModelPass({"input_ids": ids}, grad=False),
            ModelPass(replies),
            ModelPass(replies, grad=False, reference=True),
        ]

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        """Sample a group per prompt, score, and take a policy-gradient step.

        With ``num_iterations`` (mu) above 1 the data serves each optimiser step's batches mu
        times in a row: the first time they are sampled and kept, the next mu - 1 times the
        kept replies train again against the log-probabilities they were sampled with.
        Training differs from evaluation in kind (a sampled group and a policy-gradient
        loss, not greedy replies), so it replaces the template's route to ``step``.
        """
        assert self.model is not None
        span = self.trainer.accumulate_grad_batches
        position = batch_idx % (span * self.settings.num_iterations)
        slot = position % span
        if position < span:
            replies = self._sampled(batch, batch_idx)
            policy = token_logps(self.model, replies.sequences, replies.mask, replies.start)
            replies.reference = self._reference_logps(
                replies.sequences, replies.mask, replies.start
            )
            # sampled by this very policy: every ratio is 1, its gradient the policy gradient
            replies.old = policy.detach()
            if self.settings.num_iterations > 1:
                self.kept[slot] = replies
        else:
            replies = self._kept_for(batch, slot)
            policy = token_logps(self.model, replies.sequences, replies.mask, replies.start)
        assert replies.old is not None
        assert replies.reference is not None
        kl = k3_kl(policy, replies.reference)
        weights = replies.response.float()
        loss = policy_loss(
            self.settings.loss_type,
            policy,
            replies.old,
            replies.advantages,
            kl,
            weights,
            self.clip,
            self.kl_beta,
            self.max_new_tokens,
        )
        size = replies.sequences.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log("train/reward", replies.rewards.mean(), prog_bar=True, batch_size=size)
        if len(replies.each) > 1:
            for name, value in replies.each.items():
                self.log(f"train/reward_{name}", value.mean(), batch_size=size)
        mean_kl = (kl * weights).sum() / weights.sum().clamp(min=1)
        self.log("train/kl", mean_kl, batch_size=size)
        self.log("train/response_tokens", weights.sum(1).mean(), batch_size=size)
        clipped = clipped_share(
            self.settings.loss_type, policy, replies.old, replies.advantages, weights, self.clip
        )
        self.log("train/clipped", clipped, batch_size=size)
        return loss

    def _sampled(self, batch: Batch, batch_idx: int) -> SampledReplies:
        """A group of replies per prompt of ``batch``, with their rewards and advantages."""
        assert self.model is not None
        prompts = prompt_batch(batch)
        start = prompts["input_ids"].shape[1]
        sequences, mask, response = sample(
            self.model,
            prompts,
            self.tokenizer,
            self.group_size,
            self.max_new_tokens,
            self.temperature,
        )
        texts = self._texts(sequences, start, response)
        rewards, each = self.rewards_of(batch, texts, self.group_size)
        if batch_idx % self.samples_every == 0:
            self._write_samples("train", texts[:: self.group_size], rewards[:: self.group_size])
        return SampledReplies(
            prompts["input_ids"], sequences, mask, response, rewards, each, self.advantages(rewards)
        )

    def _kept_for(self, batch: Batch, slot: int) -> SampledReplies:
        """The replies kept for ``slot``, which must have been sampled from this batch's prompts."""
        replies = self.kept.get(slot)
        prompts = prompt_batch(batch)["input_ids"]
        if replies is None or not torch.equal(replies.prompt_ids.to(prompts.device), prompts):
            raise RuntimeError(
                "objective.num_iterations: this batch repeats one whose sampled replies are "
                "not kept (a checkpoint from another world size or accumulate_grad_batches?)"
            )
        return replies.to(self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the replies a resumed run trains on again (every rank's: they differ)."""
        super().on_save_checkpoint(checkpoint)
        if self.settings.num_iterations > 1:
            kept = {slot: replies.state() for slot, replies in self.kept.items()}
            checkpoint["ftexp_kept_replies"] = every_rank({"kept": kept})

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the kept replies of ``num_iterations`` (see ``on_save_checkpoint``)."""
        super().on_load_checkpoint(checkpoint)
        states = checkpoint.get("ftexp_kept_replies")
        if states is not None:
            kept = own_rank_state(states)["kept"]
            self.kept = {int(slot): SampledReplies(**state) for slot, state in kept.items()}

    def step(self, batch: Batch, stage: Stage) -> None:
        """Mean reward of greedy replies to held-out prompts (val / test)."""
        assert self.model is not None
        prompts = prompt_batch(batch)
        start = prompts["input_ids"].shape[1]
        sequences, _, response = sample(
            self.model, prompts, self.tokenizer, 1, self.max_new_tokens, 0.0
        )
        texts = self._texts(sequences, start, response)
        rewards, _ = self.rewards_of(batch, texts, 1)
        self.log_mean(stage, "reward", rewards, prog_bar=True)
        self._write_samples(stage, texts[:4], rewards[:4])

    def _write_samples(self, stage: str, texts: list[str], rewards: torch.Tensor) -> None:
        if not self.trainer.is_global_zero or not self.trainer.default_root_dir:
            return
        path = Path(self.trainer.default_root_dir) / "samples.jsonl"
        with path.open("a", encoding="utf-8") as handle:
            for text, reward in zip(texts, rewards.tolist(), strict=True):
                record = {"step": self.global_step, "stage": stage, "reward": reward, "text": text}
                handle.write(json.dumps(record) + "\n")
