"""The study table and charts: the Pareto frontier, small trainable shares."""

from __future__ import annotations

from ftexp.study import frontier


def test_frontier_keeps_only_points_nothing_cheaper_beats() -> None:
    points = [(3.0, 0.80), (0.1, 0.70), (1.0, 0.65), (1.5, 0.79), (100.0, 0.80), (0.1, 0.60)]
    assert frontier(points) == [(0.1, 0.70), (1.5, 0.79), (3.0, 0.80)]


def test_frontier_of_nothing_is_empty() -> None:
    assert frontier([]) == []


def test_a_head_alone_keeps_its_digits_in_the_table() -> None:
    from ftexp.study import _percent_cell

    assert _percent_cell(0.0034) == "0.0034"  # a linear probe's head, not "0.00"
    assert _percent_cell(3.4512) == "3.45"
    assert _percent_cell(0.0) == "0.00"  # a prompting baseline trains nothing


def test_a_size_that_was_not_measured_is_a_dash() -> None:
    from ftexp.study import _size_cell

    assert _size_cell(1888.9, ",.0f") == "1,889 MiB"
    assert _size_cell(0.0, ".1f") == "-"  # a prompting baseline saves nothing
    assert _size_cell(float("nan"), ",.0f") == "-"
