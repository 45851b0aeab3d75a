"""Prompts without answers, for on-policy RL; each may carry fields its reward reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftexp.data.base import Collate, FinetuneData
from ftexp.data.conversations import Asked
from ftexp.data.sources import column_problems, load_rows, split_files


@dataclass
class PromptData(FinetuneData):
    """User prompts rendered with the chat template, left-padded for generation.

    Prompts come from ``template`` filled with the values of ``column`` of a file or artifact
    (e.g. "Write a one-sentence review of the movie {}."), or from a ``prompts`` list.
    ``fields`` names further columns carried with each prompt to the rewards (``answer``: a
    verifiable reward's known answer). Batches hold ``prompt_input_ids``,
    ``prompt_attention_mask``, the prompts' text (``prompt_text``) and their fields
    (``prompt_fields``, one list per field).
    """

    provides: ClassVar[frozenset[str]] = frozenset({"prompt_input_ids", "prompt_attention_mask"})

    prompts: list[str] | None = None
    path: str | None = None
    artifact: dict[str, str] | None = None
    column: str | None = None
    template: str = "{}"
    fields: list[str] = field(default_factory=list)
    batch_size: int = 4
    eval_batch_size: int = 8

    def source_problems(self) -> list[str]:
        """Need prompts, or a source with the columns the template and the fields use."""
        if self.prompts:
            if self.fields:
                return ["data.fields needs a file with those columns, not a data.prompts list"]
            return []
        if not self.column or (self.path is None) == (self.artifact is None):
            return ["data: set data.prompts, or data.column with one of data.path/data.artifact"]
        return column_problems(split_files(self.path, self.artifact), [self.column, *self.fields])

    def example_fields(self) -> list[str]:
        """The fields each prompt carries to the rewards."""
        return list(self.fields)

    def origin(self) -> str:
        """Where the prompts come from."""
        if self.prompts:
            return "data.prompts"
        return ", ".join(map(str, split_files(self.path, self.artifact).values()))

    def read(self) -> dict[str, list[Any]]:
        """Every prompt (an ``Asked`` where it carries fields)."""
        if self.prompts:
            return {"all": [str(p) for p in self.prompts]}
        column = str(self.column)
        files = split_files(self.path, self.artifact)
        rows = [r for rows in load_rows(files).values() for _, r in rows]
        prompts = [(self.template.format(str(r[column]).strip()), r) for r in rows if r.get(column)]
        if not self.fields:
            return {"all": [text for text, _ in prompts]}
        return {
            "all": [
                Asked(text, tuple((name, str(row.get(name, ""))) for name in self.fields))
                for text, row in prompts
            ]
        }

    def collator(self, train: bool) -> Collate:
        """Chat-template and left-pad (tokenized per batch)."""
        from ftexp.data.collate import PromptCollator

        return PromptCollator(self.processor, self.example_fields())
