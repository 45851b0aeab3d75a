"""Preference pairs (prompt, chosen, rejected) for reward modelling and DPO.

No real chosen/rejected dataset ships offline, so pairs are built from labelled real text: for
"Write a positive movie review." a fresh review is chosen over a rotten one (and the reverse for
the negative prompt). A jsonl/csv with prompt/chosen/rejected columns works the same way.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from ftexp.data.chat import IGNORE, encode_pair
from ftexp.data.resumable import SplitLoaders, split_loader
from ftexp.data.sources import column_problems, load_rows, split_files
from ftexp.errors import DataError

Triple = tuple[str, str, str]


class PreferenceDataModule(SplitLoaders, L.LightningDataModule):
    """Pairs of responses to one prompt, the first preferred; batches hold both, padded alike.

    Batch keys: ``{chosen,rejected}_{input_ids,attention_mask,labels}``; labels are -100 on the
    prompt, so DPO scores only response tokens. Tokenizers with a chat template render the
    exchange with it; others (e.g. a BERT reward model) encode ``(prompt, response)`` as a pair.
    """

    def __init__(
        self,
        path: str | None = None,
        artifact: Mapping[str, str] | None = None,
        text_column: str = "text",
        label_column: str = "label",
        prompts: list[Mapping[str, str]] | Mapping[str, str] | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 1234,
        max_samples: int | None = None,
        max_length: int = 128,
        batch_size: int = 8,
        eval_batch_size: int = 16,
        num_workers: int = 0,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__()
        self.path, self.artifact = path, artifact
        self.text_column, self.label_column = text_column, label_column
        self.prompts = _prompt_map(prompts)
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.split_seed, self.max_samples, self.max_length = split_seed, max_samples, max_length
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers = num_workers
        self.tokenizer = tokenizer
        self.splits: dict[str, list[Triple]] = {}
        self.encoded: dict[str, list[dict[str, list[int]]]] = {}

    def problems(self) -> list[str]:
        """Validate settings and the file's columns."""
        issues = []
        if (self.path is None) == (self.artifact is None):
            issues.append("data: set exactly one of data.path, data.artifact")
            return issues
        files = split_files(self.path, self.artifact)
        columns = (
            ["prompt", "chosen", "rejected"]
            if not self.prompts
            else [
                self.text_column,
                self.label_column,
            ]
        )
        issues += column_problems(files, columns)
        if self.prompts and len(self.prompts) < 2:
            issues.append("data.prompts needs a prompt for at least two labels")
        return issues

    def objective_kwargs(self) -> dict[str, Any]:
        """Nothing: preferences are in the batches."""
        return {}

    def load(self) -> None:
        """Build and split the (prompt, chosen, rejected) triples."""
        if self.splits:
            return
        files = split_files(self.path, self.artifact)
        rows = [r for rows in load_rows(files).values() for _, r in rows]
        triples = self._from_labels(rows) if self.prompts else self._from_columns(rows)
        random.Random(self.split_seed).shuffle(triples)
        n_val = round(len(triples) * self.val_fraction)
        n_test = round(len(triples) * self.test_fraction)
        self.splits = {
            "val": triples[:n_val],
            "test": triples[n_val : n_val + n_test],
            "train": triples[n_val + n_test :],
        }
        if self.max_samples:
            self.splits = {k: v[: self.max_samples] for k, v in self.splits.items()}
        for name, split in self.splits.items():
            if not split:
                origin = ", ".join(map(str, files.values()))
                raise DataError(origin, f"the {name} preference split is empty", fix="add rows")

    def _from_columns(self, rows: list[dict[str, Any]]) -> list[Triple]:
        return [(str(r["prompt"]), str(r["chosen"]), str(r["rejected"])) for r in rows]

    def _from_labels(self, rows: list[dict[str, Any]]) -> list[Triple]:
        """Pair texts of the prompted label (chosen) with texts of another label (rejected)."""
        by_label: dict[str, list[str]] = {label: [] for label in self.prompts}
        for row in rows:
            label, text = str(row.get(self.label_column)), row.get(self.text_column)
            if label in by_label and isinstance(text, str) and text.strip():
                by_label[label].append(text.strip())
        rng = random.Random(self.split_seed)
        labels = sorted(by_label)
        for texts in by_label.values():
            rng.shuffle(texts)
        triples = []
        for i, (label, prompt) in enumerate(sorted(self.prompts.items())):
            other = labels[(i + 1) % len(labels)]
            half = [t for j, t in enumerate(by_label[label]) if j % len(labels) == i]
            rest = [t for j, t in enumerate(by_label[other]) if j % len(labels) == i]
            triples += [(prompt, c, r) for c, r in zip(half, rest, strict=False)]
        return triples

    def setup(self, stage: str | None = None) -> None:
        """Tokenize both responses of every pair."""
        self.load()
        if self.encoded:
            return
        if self.tokenizer is None:
            raise RuntimeError("PreferenceDataModule needs a tokenizer")
        for name, triples in self.splits.items():
            self.encoded[name] = [self._encode(*t) for t in triples]

    def _encode(self, prompt: str, chosen: str, rejected: str) -> dict[str, list[int]]:
        out = {}
        for key, response in (("chosen", chosen), ("rejected", rejected)):
            pair = self._encode_one(prompt, response)
            out[f"{key}_input_ids"], out[f"{key}_labels"] = pair["input_ids"], pair["labels"]
        return out

    def _encode_one(self, prompt: str, response: str) -> dict[str, list[int]]:
        assert self.tokenizer is not None
        if getattr(self.tokenizer, "chat_template", None):
            return encode_pair(self.tokenizer, prompt, response, None, self.max_length)
        enc = self.tokenizer(prompt, response, truncation=True, max_length=self.max_length)
        types = enc.get("token_type_ids") or [0] * len(enc["input_ids"])
        labels = [i if t == 1 else IGNORE for i, t in zip(enc["input_ids"], types, strict=True)]
        return {"input_ids": list(enc["input_ids"]), "labels": labels}

    def _loader(self, split: str, batch_size: int, train: bool) -> DataLoader[Any]:
        assert self.tokenizer is not None
        pad = self.tokenizer.pad_token_id
        return split_loader(
            self.encoded[split],
            train=train,
            seed=self.split_seed,
            batch_size=batch_size,
            shuffle=train,
            collate_fn=PairCollator(pad if pad is not None else 0),
            num_workers=self.num_workers,
        )


class PairCollator:
    """Right-pad chosen and rejected sequences to one shared width."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        """Collate pairs."""
        width = max(len(x[f"{k}_input_ids"]) for x in batch for k in ("chosen", "rejected"))
        out: dict[str, torch.Tensor] = {}
        for key in ("chosen", "rejected"):
            ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
            labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, example in enumerate(batch):
                n = len(example[f"{key}_input_ids"])
                ids[row, :n] = torch.tensor(example[f"{key}_input_ids"])
                labels[row, :n] = torch.tensor(example[f"{key}_labels"])
                mask[row, :n] = 1
            out |= {f"{key}_input_ids": ids, f"{key}_labels": labels, f"{key}_attention_mask": mask}
        return out


def _prompt_map(prompts: list[Mapping[str, str]] | Mapping[str, str] | None) -> dict[str, str]:
    """``[{label: fresh, prompt: ...}, ...]`` (or a plain mapping) as ``{label: prompt}``."""
    if prompts is None:
        return {}
    if isinstance(prompts, Mapping):
        return {str(k): str(v) for k, v in prompts.items()}
    return {str(p["label"]): str(p["prompt"]) for p in prompts}
