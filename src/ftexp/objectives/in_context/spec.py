"""``objective=in_context``: classify by prompting a causal LM, with no parameter updated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ftexp.contract import CAUSAL_LM, ModelTask
from ftexp.errors import ConfigError
from ftexp.objectives.classify.spec import ScoredAsClassifier
from ftexp.objectives.objective import Objective

if TYPE_CHECKING:
    from ftexp.data.base import FinetuneData


@dataclass
class InContext(ScoredAsClassifier, Objective):
    """Zero- or few-shot in-context classification: the baseline fine-tuning is set against.

    Each test text is put into ``template`` after ``instruction`` and ``shots`` solved examples
    from the training split (balanced over the classes, drawn with the run's seed); the class
    whose label word the model finds most likely after the prompt is the prediction (the
    label words' summed log-probabilities are the class scores, so accuracy, F1 and AUROC are
    those of ``objective=classify``). Nothing trains: ``python -m ftexp`` only tests.

    Attributes:
        shots: solved examples in every prompt (0: zero-shot).
        instruction: the task description that opens the prompt (``{labels}``: the label
            words, comma-separated).
        template: one example; ``{text}`` is its text and ``{label}``, which must end it, the
            label word that is scored.
        label_words: the word said for each class: class name -> word, or a list in class
            order (``[negative, positive]``: what a command line can write when the class
            names are not ASCII); ``null``: the class names.
        chat: wrap the prompt in the tokenizer's chat template (instruction-tuned models) and
            score the label word as the assistant's reply.
        calibrate: subtract the label scores of a content-free text ("N/A"): contextual
            calibration (Zhao et al. 2021), against a prompt's bias towards one label.
    """

    needs: ClassVar[frozenset[str]] = frozenset({"input_ids", "label"})
    task: ClassVar[ModelTask] = CAUSAL_LM
    module: ClassVar[str] = "ftexp.objectives.in_context.module.InContextModule"
    trains: ClassVar[bool] = False
    scores_classes: ClassVar[bool] = True

    shots: int = 0
    instruction: str = ""
    template: str = "Text: {text}\nAnswer: {label}"
    label_words: dict[str, str] | list[str] | None = None
    chat: bool = True
    calibrate: bool = True

    @property
    def seeded(self) -> bool:
        """Only the solved examples are drawn with the seed: zero-shot is the same at every seed."""
        return self.shots > 0

    def problems(self) -> list[str]:
        """The shot count and the template's fields."""
        issues = []
        if self.shots < 0:
            issues.append(f"objective.shots must be >= 0, got {self.shots}")
        if "{text}" not in self.template or not self.template.endswith("{label}"):
            issues.append(
                f"objective.template must contain {{text}} and end with {{label}} (the scored "
                f"word), got {self.template!r}"
            )
        if isinstance(self.label_words, list) and len(set(self.label_words)) < len(
            self.label_words
        ):
            issues.append(f"objective.label_words must differ, got {self.label_words}")
        return issues

    def data_problems(self, data: FinetuneData) -> list[str]:
        """The label words against the data's classes, where the config names them."""
        classes = data.stated_class_names()
        if classes is None:
            return []  # read from the rows: checked when they load
        return self.word_problems([str(name) for name in classes])

    def word_problems(self, classes: list[str]) -> list[str]:
        """Why the label words do not fit ``classes`` (a list of the wrong length, unknown keys)."""
        given = self.label_words
        if isinstance(given, list):
            if len(given) == len(classes):
                return []
            return [
                f"objective.label_words lists {len(given)} words for {len(classes)} classes "
                f"{classes}; give one word per class, in that order"
            ]
        unknown = sorted(set(given or {}) - set(classes))
        if not unknown:
            return []
        return [
            f"objective.label_words names {unknown}, which are not classes of this data "
            f"({classes}); use the class names as keys, or a list in class order"
        ]

    def words_for(self, classes: list[str]) -> list[str]:
        """The word said for each of ``classes`` (in class order); refuses words that do not fit."""
        problems = self.word_problems(classes)
        if problems:
            raise ConfigError(problems)
        given = self.label_words
        if isinstance(given, list):
            return [str(word) for word in given]
        return [(given or {}).get(name, name) for name in classes]
