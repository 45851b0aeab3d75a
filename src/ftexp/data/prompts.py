"""Prompts without answers, for on-policy RL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftexp.data.base import FinetuneData
from ftexp.data.sources import column_problems, load_rows, split_files


@dataclass
class PromptData(FinetuneData):
    """User prompts rendered with the chat template, left-padded for generation.

    Prompts come from ``template`` filled with the values of ``column`` of a file or artifact
    (e.g. "Write a one-sentence review of the movie {}."), or from a ``prompts`` list.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"prompt_input_ids", "prompt_attention_mask"})

    prompts: list[str] = field(default_factory=list)
    path: str | None = None
    artifact: dict[str, str] | None = None
    column: str | None = None
    template: str = "{}"
    batch_size: int = 4
    eval_batch_size: int = 8

    def source_problems(self) -> list[str]:
        """Need prompts, or a source with the column the template uses."""
        if self.prompts:
            return []
        if not self.column or (self.path is None) == (self.artifact is None):
            return ["data: set data.prompts, or data.column with one of data.path/data.artifact"]
        return column_problems(split_files(self.path, self.artifact), [self.column])

    def origin(self) -> str:
        """Where the prompts come from."""
        if self.prompts:
            return "data.prompts"
        return ", ".join(map(str, split_files(self.path, self.artifact).values()))

    def read(self) -> dict[str, list[str]]:
        """Every prompt."""
        if self.prompts:
            return {"all": [str(p) for p in self.prompts]}
        column = str(self.column)
        files = split_files(self.path, self.artifact)
        values = [r.get(column) for rows in load_rows(files).values() for _, r in rows]
        return {"all": [self.template.format(str(v).strip()) for v in values if v]}

    def collator(self, train: bool) -> Any:
        """Chat-template and left-pad (tokenized per batch)."""
        from ftexp.data.collate import PromptCollator

        return PromptCollator(self.processor)
