"""A study's data-size axis: the headline metric against the number of training examples.

``--train-samples 100,1000,all`` runs the whole study (each method's rate search, then its
seeds) once per size, capping the training split only (val and test stay whole, so every size
is scored on the same examples). The learning curve puts the sizes side by side: one column per
size, one line per method, the best method of each size marked.

With ``--steps N`` every size trains the same number of optimiser steps, validated once at the
end: 100 examples then get as many epochs as 3,000 get steps, so a small set is trained to the
same budget rather than stopped after a handful of steps (which would measure how fast a
method starts, not what it makes of the data).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from ftexp.study.report import ReportRow
from ftexp.utils.io import atomic_write_text

ALL = "all"


def parse_sizes(text: str) -> list[int | None]:
    """``100,1000,all`` as training-split caps (``None``: the whole split); ``[]`` for ``""``."""
    from ftexp.errors import ConfigError

    sizes: list[int | None] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part == ALL:
            sizes.append(None)
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise ConfigError(
                [f"--train-samples={text!r}: write whole numbers > 0 or all, e.g. 100,1000,all"]
            )
    return sizes


def size_label(size: int | None) -> str:
    """``1000`` or ``all``: a column of the curve and the name of its folder."""
    return ALL if size is None else str(size)


def size_override(size: int | None) -> str:
    """The override that caps the training split at ``size`` (``null``: uncapped)."""
    return f"data.train_samples={'null' if size is None else size}"


def steps_overrides(steps: int, batches_per_step: int) -> list[str]:
    """The overrides that train exactly ``steps`` optimiser steps, however many epochs that is.

    Validation runs once, after the last step: Lightning counts ``val_check_interval`` in
    batches across epochs when ``check_val_every_n_epoch`` is null.
    """
    return [
        f"++trainer.max_steps={steps}",
        "trainer.max_epochs=-1",
        f"trainer.val_check_interval={steps * batches_per_step}",
        "++trainer.check_val_every_n_epoch=null",
    ]


def curve_markdown(by_size: dict[str, list[ReportRow]]) -> str:
    """Methods x sizes: mean +- std of the headline metric; the best of each size in bold."""
    sizes = list(by_size)
    methods = list(dict.fromkeys(r.method for rows in by_size.values() for r in rows))
    cells = {(r.method, size): r for size, rows in by_size.items() for r in rows}
    best = {size: _best(rows) for size, rows in by_size.items()}
    headline = next((r.headline for rows in by_size.values() for r in rows if r.seeds), "test/acc")
    lines = [
        f"| method | {' | '.join(f'{headline} @ {s} train' for s in sizes)} |",
        "|---|" + "---|" * len(sizes),
    ]
    for method in methods:
        shown = []
        for size in sizes:
            row = cells.get((method, size))
            if row is None or not row.seeds:
                shown.append("-")
                continue
            mean, std = row.score
            text = f"{mean:.3f} +- {std:.3f}" if row.seeds > 1 else f"{mean:.3f}"
            shown.append(f"**{text}**" if best[size] == method else text)
        lines.append(f"| {method} | {' | '.join(shown)} |")
    lines.append(f"| best | {' | '.join(best[s] or '-' for s in sizes)} |")
    return "\n".join(lines) + "\n"


def _best(rows: list[ReportRow]) -> str | None:
    """The method with the highest mean headline metric among the rows that ran."""
    done = [r for r in rows if r.seeds and not math.isnan(r.score[0])]
    return max(done, key=lambda r: r.score[0]).method if done else None


def curve_chart(by_size: dict[str, list[ReportRow]], path: Path, task: str = "") -> None:
    """One line per method across the sizes (log x; ``all`` drawn at the largest run's size)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = _positions(list(by_size))
    fig, ax = plt.subplots(figsize=(8, 5))
    methods = list(dict.fromkeys(r.method for rows in by_size.values() for r in rows))
    for method in methods:
        points = [
            (xs[size], r.score[0], r.score[1])
            for size, rows in by_size.items()
            for r in rows
            if r.method == method and r.seeds
        ]
        if points:
            x, y, err = zip(*points, strict=True)
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    ax.set_xlabel("training examples (log)")
    headline = next((r.headline for rows in by_size.values() for r in rows), "test/acc")
    ax.set_ylabel(f"{headline} (mean +- std over seeds)")
    ax.legend(fontsize=8)
    ax.set_title(f"ftexp {task}: learning curve per method".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _positions(sizes: list[str]) -> dict[str, float]:
    """Where each size sits on the x axis: its number, ``all`` after the largest capped one."""
    numbers = [int(s) for s in sizes if s != ALL]
    top = max(numbers, default=1)
    return {s: float(s) if s != ALL else top * 3.0 for s in sizes}


def write_curve(by_size: dict[str, list[ReportRow]], out: Path, task: str = "") -> str:
    """Write ``learning_curve.md``, ``.json`` and (when anything ran) ``.png``; return the table."""
    table = curve_markdown(by_size)
    atomic_write_text(out / "learning_curve.md", table)
    plain = {size: [dataclasses.asdict(row) for row in rows] for size, rows in by_size.items()}
    atomic_write_text(out / "learning_curve.json", json.dumps(plain, indent=2, default=str))
    if any(r.seeds for rows in by_size.values() for r in rows):
        curve_chart(by_size, out / "learning_curve.png", task=task)
    return table
