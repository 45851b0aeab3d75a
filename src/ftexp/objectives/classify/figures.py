"""Test-split figures written into the run dir: ROC curves and a confusion matrix (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import logging
    import warnings

    import matplotlib

    # class names in scripts the default font lacks (e.g. 正面) print a warning per glyph
    warnings.filterwarnings("ignore", message="Glyph .* missing from font")
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc_points(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """False and true positive rates over every threshold, and the area under the curve."""
    order = np.argsort(-scores, kind="stable")
    hits = positive[order].astype(float)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / max(hits.sum(), 1.0)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - hits) / max((1 - hits).sum(), 1.0)])
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids


def roc_png(probs: np.ndarray, labels: np.ndarray, names: list[str], path: Path) -> None:
    """One-vs-rest ROC curves (one curve for two classes: the second class as positive)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for k in range(1, probs.shape[1]) if probs.shape[1] == 2 else range(probs.shape[1]):
        fpr, tpr, area = roc_points(probs[:, k], labels == k)
        ax.plot(fpr, tpr, label=f"{names[k] if k < len(names) else k} (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC, test split")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def confusion_png(predicted: np.ndarray, labels: np.ndarray, names: list[str], path: Path) -> None:
    """Counts of true class (rows) x predicted class (columns)."""
    n = len(names)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (labels, predicted), 1)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * n + 2.5, 1.2 * n + 2))
    ax.imshow(counts, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix, test split")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
