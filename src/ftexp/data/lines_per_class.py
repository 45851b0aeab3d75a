"""Labelled text where each class is a plain-text file of one example per line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ftexp.data.classification import ClassificationData, Example
from ftexp.data.readers import read_lines
from ftexp.data.sources import source_choice_problem, split_files


@dataclass
class LinesPerClassData(ClassificationData):
    """``class_files: {class name: file}``, in the folder ``data.path`` or the artifact's member.

    A text found in two class files has no single label: it is dropped from both (counted as
    ``data/dropped_conflicting`` in ``metrics.json``). Repeated lines are deduplicated as usual.

    Attributes:
        class_files: class name -> file of one text per line; index order = class id.
    """

    class_files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.class_files = {str(k): str(v) for k, v in dict(self.class_files).items()}
        self.labels = list(self.class_files)

    def source_problems(self) -> list[str]:
        """Two or more class files, each present."""
        if len(self.class_files) < 2:
            return [f"data.class_files needs at least two classes, got {self.class_files}"]
        choice = source_choice_problem(path=self.path, artifact=self.artifact)
        if choice:
            return [choice]
        try:
            files = self._files()
        except Exception as err:
            return [f"data: {err}"]
        return [
            f"data.class_files.{k}: {f} does not exist" for k, f in files.items() if not f.is_file()
        ]

    def origin(self) -> str:
        """The class files."""
        return ", ".join(str(f) for f in self._files().values())

    def read(self) -> dict[str, list[Example]]:
        """Every non-empty line as (text, class id); texts of two classes are dropped."""
        examples = [
            (text.strip(), label)
            for label, file in enumerate(self._files().values())
            for text in read_lines(file)
            if text.strip()
        ]
        classes = Counter(text for text, _ in set(examples))
        conflicting = {text for text, n in classes.items() if n > 1}
        self.dropped["conflicting"] = len(conflicting)
        return {"all": [x for x in examples if x[0] not in conflicting]}

    def _files(self) -> dict[str, Path]:
        """Class files inside ``data.path`` (a folder) or the artifact's member folder."""
        if self.path is not None:
            root = Path(str(self.path)).expanduser()
            return {name: root / file for name, file in self.class_files.items()}
        return {
            name: split_files(file, self.artifact)["all"] for name, file in self.class_files.items()
        }
