"""``objective=upft``: unsupervised prefix fine-tuning on the model's own reply prefixes."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, cast

import torch

from ftexp.batch import IGNORE
from ftexp.data.collate import PromptCollator
from ftexp.objectives.lm.module import CausalLMModule
from ftexp.objectives.rl.sampling import prompt_batch, sample
from ftexp.objectives.rl.spec import UPFT

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class UPFTModule(CausalLMModule):
    """Ji et al. 2025 (arXiv:2503.02875): no labels, only the model's own reply prefixes.

    Before training, the untrained model answers every training prompt once; most examples keep
    only the first ``prefix_tokens`` tokens of that reply (the "prefix self-consistency" the
    paper exploits), a ``full_fraction`` keep the whole reply so the model still learns to
    finish. Reference responses in the data are never used for training; validation still
    reports the loss on them, to show how the model drifts.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        settings = cast(UPFT, self.objective)
        self.prefix_tokens, self.full_fraction = settings.prefix_tokens, settings.full_fraction
        self.max_new_tokens, self.temperature = settings.max_new_tokens, settings.temperature
        self.sample_batch_size, self.seed = settings.sample_batch_size, settings.seed
        self.sampled: dict[str, int] = {}

    def on_fit_start(self) -> None:
        """Replace the training examples by self-generated prefixes (in place)."""
        super().on_fit_start()
        data: Any = self.trainer.datamodule
        examples = self.self_generated(data.train_prompts(), self.processor)
        data.replace_train_examples(examples)

    def self_generated(
        self, prompts: list[list[dict[str, str]]], tokenizer: PreTrainedTokenizerBase
    ) -> list[dict[str, list[int]]]:
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
                prompts_batch = collate(chosen[at : at + self.sample_batch_size])
                batch = {k: v.to(self.device) for k, v in prompt_batch(prompts_batch).items()}
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
