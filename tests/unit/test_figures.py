"""Test-split figures: the ROC points and area agree with scikit-learn; confusion counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ftexp.objectives.classify.figures import confusion_png, roc_png, roc_points


def test_roc_area_matches_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(labels * 0.3 + rng.random(500), 2)  # ties included
    _, _, area = roc_points(scores, labels == 1)
    assert area == pytest.approx(roc_auc_score(labels, scores), abs=0.02)


def test_figures_are_png_files(tmp_path: Path) -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    labels = np.array([0, 1, 2, 2])
    roc_png(probs, labels, ["a", "b", "c"], tmp_path / "roc.png")
    confusion_png(probs.argmax(-1), labels, ["负面", "正面", "c"], tmp_path / "confusion.png")
    for name in ("roc.png", "confusion.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
