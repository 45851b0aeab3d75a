"""Tiny random-init BERT and a character tokenizer, built in-process for tests and smoke runs.

No download happens: the vocabulary is generated, and the weights are drawn from a fixed seed so
that the same config always yields the same base model. That makes adapter-only artifacts of tiny
runs reloadable exactly like those of real pretrained models.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ftexp.models.base import label_maps, seeded_model
from ftexp.models.vocab import VocabSettings

if TYPE_CHECKING:
    from torch import nn

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARACTERS = string.ascii_lowercase + string.digits + string.punctuation


def char_vocab() -> list[str]:
    """Return a WordPiece vocabulary of single characters (plus ``##`` continuations)."""
    return SPECIAL_TOKENS + list(CHARACTERS) + [f"##{c}" for c in CHARACTERS]


def char_tokenizer() -> Any:
    """Build a real (saveable) BERT tokenizer over the character vocabulary."""
    from transformers import BertTokenizerFast

    vocab = {token: i for i, token in enumerate(char_vocab())}
    return BertTokenizerFast(vocab=vocab, do_lower_case=True)


CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}[SEP]"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def chat_tokenizer() -> Any:
    """The character tokenizer with a chat template; ``[SEP]`` ends every turn (EOS)."""
    tokenizer = char_tokenizer()
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.eos_token = "[SEP]"
    return tokenizer


@dataclass
class TinyBert(VocabSettings):
    """A 2-layer BERT of a few thousand parameters, with the module names of real BERT."""

    hidden_size: int = 32
    num_layers: int = 2
    num_heads: int = 2
    intermediate_size: int = 64
    max_positions: int = 128
    dropout: float = 0.1
    init_seed: int = 0
    init_from: str | None = None

    def problems(self) -> list[str]:
        """List config problems."""
        from ftexp.models.hf import init_from_problems

        issues = init_from_problems(self.init_from) if self.init_from else []
        issues += self.vocab_problems()
        if self.hidden_size % self.num_heads:
            issues.append(
                f"model.hidden_size={self.hidden_size} must be divisible by "
                f"model.num_heads={self.num_heads}"
            )
        for name in ("hidden_size", "num_layers", "num_heads", "intermediate_size"):
            if getattr(self, name) <= 0:
                issues.append(f"model.{name} must be > 0, got {getattr(self, name)}")
        return issues

    def model_type(self) -> str:
        """BERT."""
        return "bert"

    def config_values(self) -> dict[str, Any]:
        """The limits a config check needs, without building the model."""
        return {"max_position_embeddings": self.max_positions, "vocab_size": len(char_vocab())}

    def load_processor(self) -> Any:
        """Return the in-process character tokenizer."""
        return char_tokenizer()

    def load_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """Build the classifier; weights depend only on ``init_seed``.

        Load-time options (e.g. a quantisation config) go through a real ``from_pretrained``
        of the freshly built weights, exactly as they would for a pretrained model.
        """
        from transformers import BertForSequenceClassification

        return self._encoder(BertForSequenceClassification, labels, load_kwargs)

    def load_token_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """The same encoder (same seed) with a per-token head for the tags ``labels``."""
        from transformers import BertForTokenClassification

        return self._encoder(BertForTokenClassification, labels, load_kwargs)

    def load_masked_lm(self, **load_kwargs: object) -> nn.Module:
        """The same encoder (same seed) with a masked-LM head."""
        from transformers import BertForMaskedLM

        return seeded_model(lambda: BertForMaskedLM(self._config([])), self.init_seed, load_kwargs)

    def _encoder(self, head: Any, labels: list[str], load_kwargs: dict[str, Any]) -> nn.Module:
        """The seeded encoder with ``head``'s task head, or the encoder of ``init_from``'s run."""
        if self.init_from:  # the encoder of an earlier run (e.g. masked-LM domain adaptation)
            return head.from_pretrained(
                f"{self.init_from}/model", **label_maps(labels), **load_kwargs
            )
        return seeded_model(lambda: head(self._config(labels)), self.init_seed, load_kwargs)

    def _config(self, labels: list[str]) -> Any:
        from transformers import BertConfig

        return BertConfig(
            vocab_size=len(char_vocab()),
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_positions,
            hidden_dropout_prob=self.dropout,
            attention_probs_dropout_prob=self.dropout,
            **(label_maps(labels) if labels else {}),
        )

    def portable_name(self) -> str:
        """Random-init weights: rebuilt from this spec by ftexp (no file holds them)."""
        return "ftexp:tiny_bert"

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"tiny_bert": self.__dict__.copy()}
