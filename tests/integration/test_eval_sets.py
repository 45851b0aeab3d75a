"""``eval_sets``: extra labelled sets scored after the test, with their labels mapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftexp.errors import ConfigError
from ftexp.run.wiring import train
from tests.conftest import TINY_CSV, compose_cfg, tiny_cfg


def eval_set(name: str, path: Path | str, labels: str, mapping: str = "{}") -> list[str]:
    node = f"+eval_sets.{name}"
    return [
        f"{node}.data._target_=ftexp.data.classification.ClassificationData",
        f"{node}.data.path={path}",
        f"{node}.data.labels={labels}",
        f"{node}.label_map={mapping}",
    ]


def test_the_runs_own_test_split_as_an_eval_set_scores_like_the_test(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(
        TINY_CSV.read_text().replace(",neg\n", ",bad\n").replace(",pos\n", ",good\n")
    )
    metrics = train(
        tiny_cfg(
            tmp_path / "run",
            "trainer.max_epochs=2",
            *eval_set("same", TINY_CSV, "[neg,pos]"),
            *eval_set("renamed", renamed, "[bad,good]", "{bad: neg, good: pos}"),
        )
    )
    # the same rows and seed give the same test split: the eval set must score exactly the test
    assert metrics["eval/same/acc"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert metrics["eval/same/auroc"] == pytest.approx(metrics["test/auroc"], abs=1e-6)
    # renamed labels mapped back onto the model's classes: the same answers
    assert metrics["eval/renamed/acc"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert metrics["eval/renamed/n"] == metrics["eval/same/n"] > 0


def test_an_unmapped_label_is_refused_before_training(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(TINY_CSV.read_text().replace(",neg\n", ",bad\n"))
    with pytest.raises(ConfigError, match=r"eval_sets.x: its labels \['bad'\] are not classes"):
        train(tiny_cfg(tmp_path / "run", *eval_set("x", renamed, "[bad,pos]")))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_the_imdb_eval_set_maps_its_labels_onto_the_sentiment_classes() -> None:
    cfg = compose_cfg(["+eval_sets=imdb"])
    assert dict(cfg.eval_sets.imdb.label_map) == {"negative": "rotten", "positive": "fresh"}
    assert set(cfg.eval_sets.imdb.label_map.values()) <= set(cfg.data.labels)
