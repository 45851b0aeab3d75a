"""Random-init causal LMs of any Hugging Face architecture, built in-process (tests, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ftexp.models.base import label_maps, seeded_model
from ftexp.models.tiny import chat_tokenizer

if TYPE_CHECKING:
    from torch import nn


@dataclass
class RandomCausalLM:
    """A decoder such as a Llama of any size, drawn from ``init_seed``; no download.

    Attributes:
        family: a Hugging Face ``model_type`` (``llama``, ``gpt2``, ``qwen2``, ...).
        config: keyword arguments for that family's config (sizes, heads, vocabulary).
        init_seed: the weights depend only on this, so adapter-only runs reload exactly.
    """

    family: str = "llama"
    config: dict[str, Any] = field(default_factory=dict)
    init_seed: int = 0

    def __post_init__(self) -> None:
        self.config = dict(self.config)

    def problems(self) -> list[str]:
        """Check the sizes (the family and its config keys are checked when the model is built)."""
        sizes = {
            k: v for k, v in self.config.items() if isinstance(v, int) and not isinstance(v, bool)
        }
        return [f"model.config.{k} must be > 0, got {v}" for k, v in sizes.items() if v <= 0]

    def model_type(self) -> str:
        """The family."""
        return self.family

    def config_values(self) -> dict[str, Any]:
        """The config as given (sizes, limits) plus the family, without building anything."""
        limits = {"n_positions": "max_position_embeddings"}  # GPT-2 spells it its own way
        values = {limits.get(k, k): v for k, v in self.config.items()}
        return {"model_type": self.family, **values}

    def _config(self, **extra: object) -> Any:
        from transformers import AutoConfig

        return AutoConfig.for_model(self.family, **{**self.config, **extra})

    def load_processor(self) -> Any:
        """Return the in-process character tokenizer with a chat template (ids < 128)."""
        return chat_tokenizer()

    def load_causal_lm(self, **load_kwargs: object) -> nn.Module:
        """Build the model; load-time options go through a real ``from_pretrained``."""
        from transformers import AutoModelForCausalLM

        config = self._config()
        return seeded_model(
            lambda: AutoModelForCausalLM.from_config(config), self.init_seed, load_kwargs
        )

    def load_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """The same decoder with a sequence-classification head (e.g. a reward model)."""
        from transformers import AutoModelForSequenceClassification

        config = self._config(pad_token_id=chat_tokenizer().pad_token_id, **label_maps(labels))
        return seeded_model(
            lambda: AutoModelForSequenceClassification.from_config(config),
            self.init_seed,
            load_kwargs,
        )

    def portable_name(self) -> str:
        """Random-init weights: rebuilt from this spec by ftexp (no file holds them)."""
        return "ftexp:random_lm"

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"random_lm": {"family": self.family, "config": self.config, "seed": self.init_seed}}
