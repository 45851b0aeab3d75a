"""``objective=rl``: GRPO from a reward function, with a KL penalty to the reference model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import torch

from ftexp.memory.passes import ModelPass
from ftexp.objectives.module import Batch, Stage
from ftexp.objectives.reference import ReferencePolicyModule
from ftexp.objectives.rl.sampling import prompt_batch, sample, token_logps
from ftexp.objectives.rl.spec import RL


def group_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """GRPO advantages: rewards standardised within each prompt's group."""
    grouped = rewards.view(-1, group_size)
    mean, std = grouped.mean(1, keepdim=True), grouped.std(1, keepdim=True)
    return ((grouped - mean) / (std + 1e-4)).view(-1)


class GRPOModule(ReferencePolicyModule):
    """GRPO (Shao et al. 2024, arXiv:2402.03300), one policy update per batch of samples.

    Per prompt, ``group_size`` responses are sampled and scored by ``reward``; advantages are the
    rewards standardised within the group. The loss per response token is
    ``-A * log π(token)`` plus ``kl_beta`` times the k3 estimate of ``KL(π || π_ref)``, averaged per
    response, then over responses (reference: see ``ReferencePolicyModule``). Logs
    ``train/reward``, ``train/kl``, ``val/reward`` (greedy) and writes sample
    generations to ``<run>/samples.jsonl``.
    """

    eval_means = ("reward",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = cast(RL, self.objective)
        self.reward_fn = settings.reward
        self.group_size, self.max_new_tokens = settings.group_size, settings.max_new_tokens
        self.temperature, self.kl_beta = settings.temperature, settings.kl_beta
        self.samples_every = settings.samples_every

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
        """Sample a group per prompt, score, and take one policy-gradient step.

        Training differs from evaluation in kind (a sampled group and a policy-gradient
        loss, not greedy replies), so it replaces the template's route to ``step``.
        """
        assert self.model is not None
        batch = prompt_batch(batch)
        start = batch["input_ids"].shape[1]
        sequences, mask, response = sample(
            self.model,
            batch,
            self.tokenizer,
            self.group_size,
            self.max_new_tokens,
            self.temperature,
        )
        texts = self._texts(sequences, start, response)
        rewards = self.reward_fn(texts).to(self.device).float()
        advantages = group_advantages(rewards, self.group_size)
        policy = token_logps(self.model, sequences, mask, start)
        reference = self._reference_logps(sequences, mask, start)
        kl = torch.exp(reference - policy) - (reference - policy) - 1  # k3, >= 0
        # exp(lp - lp.detach()) == 1 but carries the policy gradient (on-policy, one update)
        ratio = torch.exp(policy - policy.detach())
        per_token = -advantages.unsqueeze(1) * ratio + self.kl_beta * kl
        weights = response.float()
        loss = ((per_token * weights).sum(1) / weights.sum(1).clamp(min=1)).mean()
        size = len(texts)
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log("train/reward", rewards.mean(), prog_bar=True, batch_size=size)
        mean_kl = (kl * weights).sum() / weights.sum().clamp(min=1)
        self.log("train/kl", mean_kl, batch_size=size)
        self.log("train/response_tokens", weights.sum(1).mean(), batch_size=size)
        if batch_idx % self.samples_every == 0:
            self._write_samples("train", texts[:: self.group_size], rewards[:: self.group_size])
        return loss

    def step(self, batch: Batch, stage: Stage) -> None:
        """Mean reward of greedy replies to held-out prompts (val / test)."""
        assert self.model is not None
        batch = prompt_batch(batch)
        start = batch["input_ids"].shape[1]
        sequences, _, response = sample(
            self.model, batch, self.tokenizer, 1, self.max_new_tokens, 0.0
        )
        texts = self._texts(sequences, start, response)
        rewards = self.reward_fn(texts).float().to(self.device)
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
