"""UPFT: unsupervised prefix fine-tuning on the first tokens of the model's own replies."""

from __future__ import annotations

import random
from typing import Any

import torch

from ftexp.data.chat import IGNORE, pack
from ftexp.data.prompts import PromptCollator
from ftexp.methods.base import Method
from ftexp.models.base import ModelSpec
from ftexp.objectives.causal_lm import CausalLMModule
from ftexp.objectives.rl import sample
from ftexp.optim import AdamWConfig
from ftexp.speed import SpeedConfig


class UPFTModule(CausalLMModule):
    """Ji et al. 2025 (arXiv:2503.02875): no labels, only the model's own reply prefixes.

    Before training, the untrained model answers every training prompt once; most examples keep
    only the first ``prefix_tokens`` tokens of that reply (the "prefix self-consistency" the
    paper exploits), a ``full_fraction`` keep the whole reply so the model still learns to
    finish. Reference responses in the data are never used for training; validation still
    reports the loss on them, to show how the model drifts.
    """

    def __init__(
        self,
        model: ModelSpec,
        method: Method,
        optim: AdamWConfig,
        speed: SpeedConfig | None = None,
        prefix_tokens: int = 16,
        full_fraction: float = 0.1,
        max_new_tokens: int = 128,
        temperature: float = 0.7,
        sample_batch_size: int = 8,
        seed: int = 0,
    ) -> None:
        super().__init__(model, method, optim, speed)
        self.prefix_tokens, self.full_fraction = prefix_tokens, full_fraction
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.sample_batch_size, self.seed = sample_batch_size, seed
        self.sampled: dict[str, int] = {}

    @classmethod
    def config_problems(cls, node: Any) -> list[str]:
        """Check the prefix settings."""
        issues = []
        if node.get("prefix_tokens", 16) <= 0:
            issues.append("objective.prefix_tokens must be > 0 (the paper uses 8-32)")
        if not 0 <= node.get("full_fraction", 0.1) <= 1:
            issues.append("objective.full_fraction must be in [0, 1]")
        return issues

    def on_fit_start(self) -> None:
        """Replace the training examples by self-generated prefixes (in place)."""
        super().on_fit_start()
        data: Any = self.trainer.datamodule
        prompts = [prompt for prompt, _ in data.splits["train"]]
        examples = self.self_generated(prompts, data.tokenizer)
        data.encoded["train"][:] = pack(examples, data.max_length) if data.packing else examples

    def self_generated(self, prompts: list[str], tokenizer: Any) -> list[dict[str, list[int]]]:
        """One sampled reply per prompt: a prefix, or (for ``full_fraction``) the whole reply."""
        assert self.model is not None
        order = list(range(len(prompts)))
        random.Random(self.seed).shuffle(order)
        full = set(order[: round(len(prompts) * self.full_fraction)])
        collate = PromptCollator(tokenizer)
        torch.manual_seed(self.seed)
        examples: list[dict[str, list[int]]] = []
        for whole in (False, True):
            chosen = [p for i, p in enumerate(prompts) if (i in full) == whole]
            limit = self.max_new_tokens if whole else self.prefix_tokens
            for at in range(0, len(chosen), self.sample_batch_size):
                batch = collate(chosen[at : at + self.sample_batch_size])
                batch = {k: v.to(self.device) for k, v in batch.items()}
                sequences, _, response = sample(
                    self.model, batch, tokenizer, 1, limit, self.temperature
                )
                start = batch["input_ids"].shape[1]
                for row, prompt_mask, reply_mask in zip(
                    sequences, batch["attention_mask"], response, strict=True
                ):
                    prompt = row[:start][prompt_mask.bool()].tolist()
                    reply = row[start:][reply_mask.bool()].tolist()
                    examples.append(
                        {"input_ids": prompt + reply, "labels": [IGNORE] * len(prompt) + reply}
                    )
        self.sampled = {"prefix": len(prompts) - len(full), "full": len(full)}
        for logger in self.loggers:
            logger.log_hyperparams({f"upft/{k}_examples": v for k, v in self.sampled.items()})
        return examples
