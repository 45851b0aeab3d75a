"""Tagged tokens for named-entity recognition: CoNLL-style files, BIO / BIOES / BMES tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ftexp.batch import IGNORE
from ftexp.contract import TOKEN_CLASSIFICATION, ModelTask
from ftexp.data.base import Collate, FinetuneData, TokenLimited
from ftexp.data.readers import TaggedSentence, read_tagged
from ftexp.data.sources import split_files
from ftexp.errors import DataError
from ftexp.metrics.entities import SCHEMES, tag_problems

Sentence = tuple[tuple[str, ...], tuple[str, ...]]  # (words, tags)


@dataclass
class TaggedTokensData(TokenLimited, FinetuneData):
    """Sentences of ``word tag`` lines; each word's tag trains its first sub-token only.

    Attributes:
        path: a CoNLL-style file, or ``{train: ..., test: ...}``; inside ``artifact``'s member
            folder when an artifact is set.
        scheme: the tag scheme (``bio``, ``bioes``, ``bmes``); tags are checked against it.
        tags: tag names, index = class id (``null``: ``O`` then the sorted tags of the data).
        max_length: sub-tokens per sentence; words past it are cut (counted in ``metrics.json``)
            and not scored.
    """

    provides: ClassVar[frozenset[str]] = frozenset({"input_ids", "attention_mask", "tags"})
    classifier_task: ClassVar[ModelTask] = TOKEN_CLASSIFICATION

    path: str | dict[str, str] | None = None
    artifact: dict[str, str] | None = None
    scheme: str = "bio"
    tags: list[str] | None = None
    max_length: int = 128

    def source_problems(self) -> list[str]:
        """Validate the scheme, the length and that the files exist (nothing read yet)."""
        issues = []
        if self.scheme not in SCHEMES:
            issues.append(f"data.scheme={self.scheme!r} is unknown; use one of {sorted(SCHEMES)}")
        if self.max_length <= 0:
            issues.append(f"data.max_length must be > 0, got {self.max_length}")
        if self.path is None and self.artifact is None:
            return [*issues, "data: set data.path (a CoNLL-style file) or data.artifact"]
        try:
            files = split_files(self.path, self.artifact)
        except Exception as err:
            return [*issues, f"data: {err}"]
        issues += [
            f"data.path ({k}): {f} does not exist" for k, f in files.items() if not f.is_file()
        ]
        if self.tags is not None:
            issues += [f"data.tags: {p}" for p in tag_problems(self.tags, self.scheme)]
        return issues

    def origin(self) -> str:
        """The file(s) the sentences come from."""
        return ", ".join(str(f) for f in split_files(self.path, self.artifact).values())

    def read(self) -> dict[str, list[Sentence]]:
        """Sentences of every file; the tag set is checked against the scheme."""
        out: dict[str, list[Sentence]] = {}
        seen: set[str] = set()
        for split, file in split_files(self.path, self.artifact).items():
            sentences = read_tagged(file)
            present = {tag for _, _, tags in sentences for tag in tags}
            wrong = {t for t in present if tag_problems([t], self.scheme)}
            unlisted = present - set(self.tags) if self.tags is not None else set()
            if wrong or unlisted:
                self._refuse_first(file, sentences, wrong, unlisted)
            seen |= present
            out[split] = [(words, tags) for _, words, tags in sentences]
        if self.tags is None:
            self.tags = ["O", *sorted(seen - {"O"})]
        return out

    def _refuse_first(
        self, file: Path, sentences: list[TaggedSentence], wrong: set[str], unlisted: set[str]
    ) -> None:
        """Raise for the first line whose tag is outside the scheme or ``data.tags``."""
        for line, _, tags in sentences:
            for offset, tag in enumerate(tags):
                if tag in wrong:
                    problem = tag_problems([tag], self.scheme)[0]
                    raise DataError(file, problem, line=line + offset, fix="fix the tag")
                if tag in unlisted:
                    raise DataError(
                        file,
                        f"tag {tag!r} is not in data.tags",
                        line=line + offset,
                        fix="add it to data.tags, or set data.tags=null to take the data's",
                    )

    def class_names(self) -> list[str]:
        """Tag names, index = class id (after ``load`` when taken from the data)."""
        if self.tags is None:
            raise RuntimeError("call load() first")
        return self.tags

    def key(self, example: Sentence) -> tuple[str, ...]:
        """The words: a sentence repeated is one example."""
        return example[0]

    def text_of(self, example: Sentence) -> str:
        """The words joined by spaces."""
        return " ".join(example[0])

    def encode_split(self, examples: list[Sentence]) -> list[dict[str, Any]]:
        """Tokenize the words; a word's tag goes on its first sub-token, the rest are ignored."""
        index = {tag: i for i, tag in enumerate(self.class_names())}
        encoded = self.processor(
            [list(words) for words, _ in examples],
            is_split_into_words=True,
            truncation=True,
            max_length=self.max_length,
        )
        out = []
        for row, (words, tags) in enumerate(examples):
            word_ids = encoded.word_ids(row)
            labels, last = [], None
            for word in word_ids:
                labels.append(IGNORE if word is None or word == last else index[tags[word]])
                last = word if word is not None else last
            kept = len({w for w in word_ids if w is not None})
            if kept < len(words):
                self.dropped["cut_words"] = self.dropped.get("cut_words", 0) + len(words) - kept
            out.append({"input_ids": encoded["input_ids"][row], "tags": labels})
        return out

    def collator(self, train: bool) -> Collate:
        """Pad ids with the pad token and tags with the ignore index."""
        from ftexp.data.collate import TagCollator

        return TagCollator(self.pad_id)
