"""Vocabulary extension: add what the tokenizer cannot represent, grow the embeddings, train them.

The optional first step of domain adaptation. Candidates come from a vocabulary file (one token
per line, e.g. a Chinese BERT's ``vocab.txt``) or from the training text (``from_data``). Only
candidates the tokenizer maps to its unknown token are added, so nothing it already represents
changes its tokenization. New embedding rows start from the mean and covariance of the
pretrained rows (``resize_token_embeddings(mean_resizing=True)``); under methods that freeze the
embeddings, only the new rows train (a gradient mask, and no weight decay on the matrix). Adapter
methods save those rows beside the adapter (``new_token_rows.safetensors``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ftexp.infra.artifacts import PypiArtifact

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

    from ftexp.models.base import ModelSpec

FROM_DATA = "from_data"
ROWS_FILE = "new_token_rows.safetensors"


@dataclass
class VocabSettings:
    """Model-spec settings for vocabulary extension (mixed into text model specs).

    Attributes:
        extend_vocab: ``null`` (off), a vocabulary file, a pinned artifact holding one, or
            ``from_data`` (the unknown units of the training text).
        extend_vocab_max: at most this many tokens are added, the most frequent in the training
            text first (``null``: all candidates).
        extend_vocab_min_count: ``from_data`` adds units seen at least this often.
    """

    extend_vocab: str | dict[str, str] | None = None
    extend_vocab_max: int | None = None
    extend_vocab_min_count: int = 2

    def vocab_problems(self) -> list[str]:
        """Problems of the extension settings (no tokenizer loaded)."""
        issues: list[str] = []
        source = self.extend_vocab
        if self.extend_vocab_max is not None and self.extend_vocab_max <= 0:
            issues.append(
                f"model.extend_vocab_max must be > 0 or null, got {self.extend_vocab_max}"
            )
        if self.extend_vocab_min_count < 1:
            issues.append(
                f"model.extend_vocab_min_count must be >= 1, got {self.extend_vocab_min_count}"
            )
        if isinstance(source, dict):
            issues += [f"model.extend_vocab.{p}" for p in PypiArtifact(**source).problems()]
        elif source not in (None, FROM_DATA) and not Path(str(source)).expanduser().is_file():
            issues.append(
                f"model.extend_vocab={source!r} is neither a vocabulary file nor {FROM_DATA!r}; "
                "pass a file with one token per line, or model.extend_vocab=from_data"
            )
        return issues


def rows_rate_problems(spec: ModelSpec, new_rows_lr: float | None) -> list[str]:
    """``optim.new_rows_lr`` needs rows to apply to: vocabulary extension on."""
    extends = isinstance(spec, VocabSettings) and bool(spec.extend_vocab)
    if new_rows_lr is None or extends:
        return []
    return [
        "optim.new_rows_lr is set but model.extend_vocab adds no tokens; "
        "set model.extend_vocab=from_data (or a vocabulary file), or optim.new_rows_lr=null"
    ]


def extend_tokenizer(spec: ModelSpec, tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> int:
    """Add the spec's new tokens to ``tokenizer``; return how many were added (0: off)."""
    if not isinstance(spec, VocabSettings) or spec.extend_vocab is None:
        return 0
    source = spec.extend_vocab
    unknown = unknown_units(tokenizer, texts)
    if source == FROM_DATA:
        minimum = spec.extend_vocab_min_count
        candidates = [unit for unit, n in unknown.most_common() if n >= minimum]
    else:
        listed = _file_tokens(source)
        candidates = sorted(_unknown_only(tokenizer, listed), key=lambda t: -unknown[t])
    if spec.extend_vocab_max is not None:
        candidates = candidates[: spec.extend_vocab_max]
    return int(tokenizer.add_tokens(candidates)) if candidates else 0


def unknown_units(tokenizer: PreTrainedTokenizerBase, texts: list[str]) -> Counter[str]:
    """How often each piece of text that the tokenizer turns into its unknown token occurs."""
    unk = tokenizer.unk_token_id
    counts: Counter[str] = Counter()
    if unk is None or not texts:
        return counts
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    for text, ids, offsets in zip(
        texts, encoded["input_ids"], encoded["offset_mapping"], strict=True
    ):
        counts.update(
            text[s:e] for i, (s, e) in zip(ids, offsets, strict=True) if i == unk and e > s
        )
    return counts


def _file_tokens(source: str | dict[str, str]) -> list[str]:
    """The plain tokens of a vocabulary file (no ``##`` continuations or ``[SPECIAL]`` tokens)."""
    path = PypiArtifact(**source).local_path() if isinstance(source, dict) else Path(source)
    lines = path.expanduser().read_text(encoding="utf-8").splitlines()
    tokens = [t.strip() for t in lines]
    return [t for t in tokens if t and not t.startswith("##") and not _special(t)]


def _special(token: str) -> bool:
    return len(token) > 2 and token[0] + token[-1] in ("[]", "<>")


def _unknown_only(tokenizer: PreTrainedTokenizerBase, tokens: list[str]) -> list[str]:
    """The tokens the tokenizer can only write as its unknown token."""
    unk = tokenizer.unk_token_id
    if unk is None or not tokens:
        return []
    ids = tokenizer(tokens, add_special_tokens=False)["input_ids"]
    return [t for t, row in zip(tokens, ids, strict=True) if row and set(row) == {unk}]


def grow_embeddings(model: nn.Module, vocabulary_size: int, drawn: bool = True) -> None:
    """Give ``model`` an embedding row per token; new rows drawn like the pretrained ones.

    ``drawn=False`` only sizes the rows (a model on the meta device has no values to draw from).
    """
    if model.get_input_embeddings().weight.shape[0] < vocabulary_size:  # type: ignore[operator]
        model.resize_token_embeddings(vocabulary_size, mean_resizing=drawn)  # type: ignore[operator]


def train_new_rows(model: nn.Module, first: int) -> None:
    """Train embedding rows ``first:`` even where the method froze the embeddings."""
    import torch

    from ftexp.utils.params import train_rows_from, trained_from_row

    weight = model.get_input_embeddings().weight  # type: ignore[operator]
    if weight.requires_grad:  # the method trains the whole matrix already
        return
    keep = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
    keep[first:] = 1

    def mask(grad: torch.Tensor) -> torch.Tensor:
        # a method that opens the whole matrix later (train_all_rows) lifts the mark
        if trained_from_row(weight) is None:
            return grad
        return grad * keep.to(grad.device, grad.dtype)

    weight.requires_grad_(True)
    weight.register_hook(mask)
    weight.no_weight_decay = True  # decoupled decay would move the frozen pretrained rows
    train_rows_from(weight, first)  # counted as those rows; adapters save them (save_new_rows)


def save_new_rows(model: nn.Module, out_dir: Path, first: int) -> None:
    """Store embedding rows ``first:`` beside a saved adapter (which holds no embeddings)."""
    from safetensors.torch import save_file

    weight = model.get_input_embeddings().weight  # type: ignore[operator]
    rows = weight[first:].detach().to("cpu").contiguous()
    save_file({"rows": rows}, str(out_dir / ROWS_FILE), metadata={"first": str(first)})


def restore_new_rows(model: nn.Module, out_dir: Path) -> None:
    """Grow a freshly loaded base to the saved vocabulary and put the trained rows back."""
    import torch
    from safetensors import safe_open

    path = out_dir / ROWS_FILE
    if not path.is_file():
        return
    with safe_open(str(path), framework="pt") as handle:
        first = int(handle.metadata()["first"])
        rows = handle.get_tensor("rows")
    model.resize_token_embeddings(first + len(rows), mean_resizing=False)  # type: ignore[operator]
    weight = model.get_input_embeddings().weight  # type: ignore[operator]
    with torch.no_grad():
        weight[first:] = rows.to(weight.dtype)
