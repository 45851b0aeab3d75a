"""Random-init causal LMs of any Hugging Face architecture, built in-process (tests, benchmarks)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    PreTrainedTokenizerBase,
)

from ftexp.models.base import label_maps
from ftexp.models.tiny import chat_tokenizer


@dataclass
class RandomCausalLM:
    """A decoder such as a Llama of any size, drawn from ``init_seed``; no download.

    Attributes:
        family: a Hugging Face ``model_type`` (``llama``, ``gpt2``, ``qwen2``, ...).
        config: keyword arguments for that family's config (sizes, heads, vocabulary).
        init_seed: the weights depend only on this, so adapter-only runs reload exactly.
        lora_target_modules: linear layers LoRA adapts for this family.
    """

    family: str = "llama"
    config: dict[str, Any] = field(default_factory=dict)
    init_seed: int = 0
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    adapter_targets: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.config = dict(self.config)
        self.lora_target_modules = list(self.lora_target_modules)

    def problems(self) -> list[str]:
        """Check that the family exists and accepts the config."""
        try:
            self._config()
        except (KeyError, ValueError, TypeError) as err:
            return [f"model.family={self.family!r} / model.config: {err}"]
        return []

    def _config(self, **extra: Any) -> Any:
        return AutoConfig.for_model(self.family, **{**self.config, **extra})

    def load_tokenizer(self) -> PreTrainedTokenizerBase:
        """Return the in-process character tokenizer with a chat template (ids < 128)."""
        return chat_tokenizer()

    def load_causal_lm(self, **load_kwargs: Any) -> nn.Module:
        """Build the model; load-time options go through a real ``from_pretrained``."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.init_seed)
            model = AutoModelForCausalLM.from_config(self._config())
        if not load_kwargs:
            return model
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp)
            del model
            return AutoModelForCausalLM.from_pretrained(tmp, **load_kwargs)

    def load_classifier(self, labels: list[str], **load_kwargs: Any) -> nn.Module:
        """The same decoder with a sequence-classification head (e.g. a reward model)."""
        config = self._config(pad_token_id=chat_tokenizer().pad_token_id, **label_maps(labels))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.init_seed)
            model = AutoModelForSequenceClassification.from_config(config)
        if not load_kwargs:
            return model
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp)
            del model
            return AutoModelForSequenceClassification.from_pretrained(tmp, **load_kwargs)

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"random_lm": {"family": self.family, "config": self.config, "seed": self.init_seed}}
