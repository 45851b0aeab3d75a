"""objective.label_words: a mapping or a list in class order; words that do not fit are refused."""

from __future__ import annotations

import pytest

from ftexp.errors import ConfigError
from ftexp.objectives.in_context import InContext

CLASSES = ["负面", "正面"]


def test_the_class_names_are_the_words_by_default() -> None:
    assert InContext().words_for(CLASSES) == CLASSES


def test_a_mapping_renames_the_classes_it_names() -> None:
    assert InContext(label_words={"正面": "positive"}).words_for(CLASSES) == ["负面", "positive"]


def test_a_list_gives_the_words_in_class_order() -> None:
    words = InContext(label_words=["negative", "positive"]).words_for(CLASSES)
    assert words == ["negative", "positive"]


def test_a_list_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ConfigError, match="3 words for 2 classes"):
        InContext(label_words=["a", "b", "c"]).words_for(CLASSES)


def test_a_mapping_naming_no_class_is_refused() -> None:
    # a misspelt class name would otherwise be ignored silently
    with pytest.raises(ConfigError, match="not classes of this data"):
        InContext(label_words={"positiv": "good"}).words_for(CLASSES)


def test_repeated_words_are_a_config_problem() -> None:
    assert InContext(label_words=["yes", "yes"]).problems()
