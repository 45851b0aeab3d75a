"""The command line as users run it: single runs, multirun sweeps, predict."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import TINY, TINY_CSV, run_ftexp


def run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_multirun_gives_each_job_its_own_dir_and_predict_reads_it(tmp_path: Path) -> None:
    run(
        [
            "-m",
            "ftexp",
            "-m",
            *TINY,
            "method=full,lora",
            "trainer.max_epochs=1",
            "logger=wandb",
            f"hydra.sweep.dir={tmp_path}",
            # as an experiment carries them: each job takes its own method's row
            "+study.method_overrides.lora=['method.lr=0.00123']",
            "+study.method_overrides.full=['optim.head_lr_scale=7']",
        ],
        cwd=tmp_path,
    )
    jobs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    targets = set()
    for job in jobs:
        assert "test/acc" in json.loads((job / "metrics.json").read_text())
        config = yaml.safe_load((job / "config.yaml").read_text())
        method = config["method"]["_target_"].split(".")[2]
        targets.add(method)
        if method == "lora":
            assert (config["optim"]["lr"], config["optim"]["head_lr_scale"]) == (0.00123, 1)
        else:
            assert config["optim"]["head_lr_scale"] == 7
            assert config["optim"]["lr"] == config["method"]["lr"] != 0.00123
        assert "the experiment's settings: " in (job / "__main__.log").read_text()
    assert targets == {"full", "lora"}
    from ftexp.infra.wandb_offline import read_offline_run

    run_ids = []
    for job in jobs:  # one W&B run per job, each with its own config and summary
        (run_file,) = job.glob("wandb/offline-run-*/run-*.wandb")
        offline = read_offline_run(run_file)
        assert offline.config["method"]["_target_"].startswith("ftexp.methods.")
        assert "test/acc" in offline.summary
        run_ids.append(offline.run_id)
    assert len(set(run_ids)) == 2
    out = run(
        ["-m", "ftexp.cli.predict", str(jobs[1]), "superb and charming", "awful"], cwd=tmp_path
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2
    # the base model's load report (its head "newly initialized") is not the run's: not shown
    assert "newly initialized" not in out.stdout + out.stderr
    assert lines[0].split("\t")[0] in {"neg", "pos"}


def test_a_users_own_file_replaces_the_bundled_data_with_one_override(tmp_path: Path) -> None:
    """``data=sentiment data.path=reviews.tsv``: the option's artifact is dropped, tsv is split."""
    rows = list(csv.reader(io.StringIO(TINY_CSV.read_text())))[1:]
    tsv = tmp_path / "reviews.tsv"
    with tsv.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, delimiter="\t").writerows([["review", "label"], *rows])
    run = tmp_path / "run"
    done = run_ftexp(
        "debug=smoke",
        "data=sentiment",
        f"data.path={tsv}",
        "data.text_column=review",
        "data.label_column=label",
        "data.labels=[neg,pos]",
        f"hydra.run.dir={run}",
    )
    said = done.stdout + done.stderr
    assert "your data source replaces the option's own: data.artifact=null" in said
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["artifact"] is None
    assert saved["data"]["path"] == str(tsv)
    assert "test/acc" in json.loads((run / "metrics.json").read_text())
