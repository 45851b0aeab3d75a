"""`make compare` on a tiny model: a multirun over methods, then the table and the chart."""

from __future__ import annotations

from pathlib import Path

from ftexp.cli.compare import collect, main
from tests.conftest import TINY
from tests.integration.test_cli import run


def test_compare_reads_a_method_sweep_and_writes_table_and_chart(tmp_path: Path) -> None:
    run(
        [
            "-m",
            "ftexp",
            "-m",
            *TINY,
            "method=full,ia3,qat",
            "trainer.max_epochs=1",
            f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=tmp_path,
    )
    rows = collect(tmp_path)
    assert sorted(r.method for r in rows) == ["full", "ia3", "qat"]
    by_method = {r.method: r for r in rows}
    assert by_method["ia3"].trainable_pct < by_method["full"].trainable_pct == 100.0
    assert by_method["ia3"].saved_mb < by_method["full"].saved_mb
    assert all(r.peak_mb > 0 and r.wall_min > 0 for r in rows)
    assert by_method["qat"].notes[0].startswith("int weights: acc ")
    main([str(tmp_path)])
    table = (tmp_path / "comparison.md").read_text()
    assert table.count("\n") == 2 + 3
    assert "test acc | test F1 |" in table  # the study's own table: one report for both
    assert "int weights: acc " in table.split("| qat |")[1]
    png = (tmp_path / "comparison.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
