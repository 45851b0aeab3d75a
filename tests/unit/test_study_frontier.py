"""The study charts' Pareto frontier: the best score reachable at no more cost."""

from __future__ import annotations

from ftexp.study import frontier


def test_frontier_keeps_only_points_nothing_cheaper_beats() -> None:
    points = [(3.0, 0.80), (0.1, 0.70), (1.0, 0.65), (1.5, 0.79), (100.0, 0.80), (0.1, 0.60)]
    assert frontier(points) == [(0.1, 0.70), (1.5, 0.79), (3.0, 0.80)]


def test_frontier_of_nothing_is_empty() -> None:
    assert frontier([]) == []
