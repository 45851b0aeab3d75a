"""The study table and charts: the Pareto frontier, small trainable shares."""

from __future__ import annotations

import dataclasses

import pytest

from ftexp.study.report import ReportRow, frontier


def test_frontier_keeps_only_points_nothing_cheaper_beats() -> None:
    points = [(3.0, 0.80), (0.1, 0.70), (1.0, 0.65), (1.5, 0.79), (100.0, 0.80), (0.1, 0.60)]
    assert frontier(points) == [(0.1, 0.70), (1.5, 0.79), (3.0, 0.80)]


def test_frontier_of_nothing_is_empty() -> None:
    assert frontier([]) == []


def test_a_head_alone_keeps_its_digits_in_the_table() -> None:
    from ftexp.study.report import _percent_cell

    assert _percent_cell(0.0034) == "0.0034"  # a linear probe's head, not "0.00"
    assert _percent_cell(3.4512) == "3.45"
    assert _percent_cell(0.0) == "0.00"  # a prompting baseline trains nothing


def test_a_size_that_was_not_measured_is_a_dash() -> None:
    from ftexp.study.report import _size_cell

    assert _size_cell(1888.9, ",.0f") == "1,889 MiB"
    assert _size_cell(0.0, ".1f") == "-"  # a prompting baseline saves nothing
    assert _size_cell(float("nan"), ",.0f") == "-"


CLASSIFY = "ftexp.objectives.classify.Classify"
TAGGER = "ftexp.objectives.token_classify.TokenClassify"


def _row(
    headline: str, runs: list[dict[str, float]], objective: str = CLASSIFY
) -> dict[str, object]:
    cost = {"params/trainable": 1, "params/total": 100, "time/wall_s": 60.0}
    return {
        "method": "lora",
        "objective": objective,  # whose rules decide the columns and "collapsed"
        "headline": headline,
        "best_lr": 1e-3,
        "runs": [{"metrics": {**cost, **m}} for m in runs],
        "failed": [],
        "latency": None,
    }


def test_a_tagger_row_shows_precision_and_recall_and_flags_runs_that_found_nothing() -> None:
    from ftexp.study.report import markdown, summarize

    found = {"test/f1": 0.5, "test/precision": 0.6, "test/recall": 0.4}
    nothing = {"test/f1": 0.0, "test/precision": 0.0, "test/recall": 0.0}  # every token O
    table = markdown([summarize(_row("test/f1", [found, nothing], TAGGER))])
    header, _, line = table.splitlines()
    assert "test f1 | test precision / recall |" in header
    assert "| 0.250 +- 0.354 | 0.300 +- 0.424 / 0.200 +- 0.283 |" in line
    assert line.endswith("collapsed to the majority class in 1 of 2 runs |")


def test_a_classifier_row_shows_f1_and_flags_one_class_runs_only() -> None:
    from ftexp.study.report import markdown, summarize

    fine = {"test/acc": 0.8, "test/f1": 0.79, "test/top_class_share": 0.55}
    table = markdown([summarize(_row("test/acc", [fine, {**fine, "test/top_class_share": 0.99}]))])
    header, _, line = table.splitlines()
    assert "test acc | test F1 |" in header
    assert "| 0.800 +- 0.000 | 0.790 +- 0.000 |" in line
    assert line.endswith("collapsed to the majority class in 1 of 2 runs |")
    assert not markdown([summarize(_row("test/acc", [fine]))]).splitlines()[2].endswith("runs |")


def test_the_grid_edge_and_the_rate_one_step_past_it() -> None:
    from ftexp.study.search import grid_edge, rate_beyond

    assert grid_edge({1e-4: 0.6, 3e-4: 0.7, 9e-4: 0.8}) == "top"
    assert rate_beyond({1e-4: 0.6, 3e-4: 0.7, 9e-4: 0.8}) == pytest.approx(2.7e-3)
    assert grid_edge({1e-4: 0.8, 3e-4: 0.7, 9e-4: 0.6}) == "bottom"
    assert rate_beyond({1e-4: 0.8, 3e-4: 0.7, 9e-4: 0.6}) == pytest.approx(1e-4 / 3)
    assert grid_edge({1e-4: 0.6, 3e-4: 0.8, 9e-4: 0.7}) is None  # bracketed: nothing to widen
    assert rate_beyond({1e-4: 0.6, 3e-4: 0.8, 9e-4: 0.7}) is None
    assert grid_edge({1e-3: 0.8}) is None  # one rate: no grid to be on the edge of


def test_a_row_whose_best_rate_is_on_the_edge_says_so() -> None:
    from ftexp.study.report import markdown, summarize

    row = {**_row("test/acc", [{"test/acc": 0.8, "test/f1": 0.79}]), "edge": "top"}
    assert (
        markdown([summarize(row)])
        .splitlines()[-1]
        .endswith("best rate at the top of the searched grid |")
    )
    assert "searched grid" not in markdown([summarize({**row, "edge": None})])


def _curve_row(method: str, mean: float, std: float = 0.0, seeds: int = 3) -> ReportRow:
    from ftexp.study.report import summarize

    row = summarize({**_row("test/acc", [{"test/acc": mean}]), "method": method})
    return dataclasses.replace(row, seeds=seeds, score=(mean, std))


def test_the_learning_curve_marks_the_best_method_of_each_size() -> None:
    from ftexp.study.curve import curve_markdown

    by_size = {
        "100": [_curve_row("linear_probe", 0.70, 0.02), _curve_row("full", 0.65, 0.03)],
        "all": [_curve_row("linear_probe", 0.78, 0.01), _curve_row("full", 0.85, 0.01)],
    }
    lines = curve_markdown(by_size).strip().splitlines()
    assert lines[0] == "| method | test/acc @ 100 train | test/acc @ all train |"
    assert lines[2] == "| linear_probe | **0.700 +- 0.020** | 0.780 +- 0.010 |"
    assert lines[3] == "| full | 0.650 +- 0.030 | **0.850 +- 0.010** |"
    assert lines[4] == "| best | linear_probe | full |"


def test_a_size_a_method_did_not_reach_is_a_dash_and_sizes_parse() -> None:
    from ftexp.errors import ConfigError
    from ftexp.study.curve import curve_markdown, parse_sizes, size_override

    by_size = {
        "100": [_curve_row("lora", 0.7, seeds=1)],
        "1000": [_curve_row("lora", 0.0, seeds=0)],
    }
    lines = curve_markdown(by_size).strip().splitlines()
    assert lines[2] == "| lora | **0.700** | - |"  # one seed: no spread shown
    assert lines[3] == "| best | lora | - |"
    assert parse_sizes("100, 1000,all") == [100, 1000, None]
    assert parse_sizes("") == []
    assert size_override(None) == "data.train_samples=null"
    with pytest.raises(ConfigError, match="whole numbers > 0 or all"):
        parse_sizes("0,all")
