"""``python -m ftexp.study``: rate search, seeds, mean +- std, kept results, failures isolated."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftexp.study.__main__ import main
from tests.conftest import TINY
from tests.options import DATA

SHARED = [*TINY, "trainer.max_epochs=1"]
ARGS = ["--methods", "lora,linear_probe", "--seeds", "1,2", "--lr-factors", "0.5,2"]


def test_a_killed_study_resumes_and_the_table_has_every_method(tmp_path: Path, capsys) -> None:
    study = tmp_path / "study"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ftexp.study", str(study), *ARGS, *SHARED],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while len(list((study / "results").glob("*.json"))) < 2 and time.time() < deadline:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the study and the job it is running
    proc.wait()
    kept = {p.name: p.read_text() for p in (study / "results").glob("*.json")}
    assert len(kept) >= 2
    main([str(study), "--kept-only", *ARGS, *SHARED])  # the table so far: nothing runs
    out = capsys.readouterr().out
    assert "[study] 0 job(s) run now" in out
    assert "job(s) not run yet" in out
    assert len(list((study / "results").glob("*.json"))) == len(kept)
    assert not list((study / "jobs").glob("*/latency.json"))  # no timing taken either

    main([str(study), *ARGS, *SHARED])
    out = capsys.readouterr().out
    ran = int(out.split("[study] ")[-1].split(" job(s)")[0])
    assert ran == 6 - len(kept)  # 2 methods x (2 rates + 1 more seed); nothing repeated
    for name, text in kept.items():  # kept results were not rewritten
        assert (study / "results" / name).read_text() == text
    rows = {r["method"]: r for r in json.loads((study / "comparison.json").read_text())}
    assert rows["lora"]["seeds"] == rows["linear_probe"]["seeds"] == 2
    assert rows["lora"]["score"][1] >= 0  # a std over the two seeds
    assert rows["lora"]["best_lr"] in {5e-4, 2e-3}  # 1e-3 x 0.5 or x 2
    timed = rows["lora"]["latency"]  # the saved adapter, and merged into its base
    assert timed["as_saved"]["p50_ms"] > 0
    assert timed["merged"]["batch64_per_s"] > 0
    assert set(rows["linear_probe"]["latency"]) == {"as_saved"}  # full weights: nothing to merge
    table = (study / "comparison.md").read_text()
    assert "| lora |" in table
    assert " +- " in table
    assert (study / "comparison.png").stat().st_size > 0

    main([str(study), *ARGS, *SHARED])  # everything is kept now
    assert "[study] 0 job(s) run now" in capsys.readouterr().out

    # the timed seed's run dir cleaned away: the row's timing comes from another seed's model
    kept_now = [json.loads(p.read_text()) for p in (study / "results").glob("*.json")]
    lora_runs = [Path(r["run_dir"]) for r in kept_now if r["job"]["method"] == "lora"]
    (timed,) = [d for d in lora_runs if (d / "latency.json").is_file()]
    shutil.rmtree(timed)
    main([str(study), *ARGS, *SHARED])
    assert "[study] 0 job(s) run now" in capsys.readouterr().out
    rows = {r["method"]: r for r in json.loads((study / "comparison.json").read_text())}
    assert rows["lora"]["latency"]["as_saved"]["p50_ms"] > 0
    assert len(list((study / "jobs").glob("*/latency.json"))) == 2  # lora's other seed, the probe


def test_two_studies_on_one_directory_run_each_job_once(tmp_path: Path) -> None:
    study = tmp_path / "study"
    args = [str(study), "--methods", "lora", "--seeds", "1", "--lr-factors", "0.5,2", *SHARED]
    command = [sys.executable, "-m", "ftexp.study", *args]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [proc.communicate(timeout=600)[0] for proc in both]
    assert [proc.returncode for proc in both] == [0, 0]
    started = [[line for line in out.splitlines() if " -> " in line] for out in outs]
    assert [len(lines) for lines in started] == [1, 1], started  # one job each, side by side
    kept = [json.loads(p.read_text()) for p in (study / "results").glob("*.json")]
    assert [r["status"] for r in kept] == ["done", "done"]
    assert all("| lora |" in out for out in outs)  # the waiting study tables the other's result


def test_a_job_stopped_before_its_first_checkpoint_starts_again(tmp_path: Path) -> None:
    study = tmp_path / "study"
    args = [str(study), "--methods", "lora", "--seeds", "1", "--lr-factors", "1", *SHARED]
    main(args)
    (result,) = (study / "results").glob("*.json")
    run_dir = Path(json.loads(result.read_text())["run_dir"])
    result.unlink()  # as if the study was killed while the job ran,
    shutil.rmtree(run_dir / "checkpoints")  # before the job wrote its first checkpoint:
    (run_dir / "metrics.json").unlink()  # its run dir is claimed and holds nothing to resume
    main(args)
    assert json.loads(result.read_text())["status"] == "done"


def test_a_failing_job_is_a_row_with_its_reason_and_the_others_run(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    # a user's method option (./conf is on the search path) that the job itself refuses
    (tmp_path / "conf" / "method").mkdir(parents=True)
    (tmp_path / "conf" / "method" / "broken.yaml").write_text("defaults: [lora]\nr: 0\n")
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study"
    longer = "lora:trainer.max_epochs=2"  # a budget of its own for one method
    args = ["--methods", "broken,lora", "--method-overrides", longer, "--seeds", "1"]
    main([str(study), *args, "--lr-factors", "1", *SHARED])
    rows = {r["method"]: r for r in json.loads((study / "comparison.json").read_text())}
    assert rows["lora (trainer.max_epochs=2)"]["seeds"] == 1
    assert not rows["lora (trainer.max_epochs=2)"]["failed"]
    kept = [json.loads(p.read_text()) for p in (study / "results").glob("*.json")]
    (run,) = [r for r in kept if r["status"] == "done"]
    assert "max_epochs: 2" in (Path(run["run_dir"]) / ".hydra" / "config.yaml").read_text()
    assert rows["broken"]["seeds"] == 0
    assert "method.r must be > 0" in rows["broken"]["failed"][0]
    assert "failed: " in (study / "comparison.md").read_text().split("| broken |")[1]
    with pytest.raises(SystemExit) as refused:  # an override without its method
        main([str(study), "--methods", "lora", "--method-overrides", "trainer.max_epochs=2"])
    assert refused.value.code == 2
    with pytest.raises(SystemExit) as refused:  # a misspelt method: nothing runs
        main([str(tmp_path / "other"), "--methods", "lora,lroa", *SHARED])
    assert refused.value.code == 2
    assert "'lroa' is not a method option; did you mean lora?" in capsys.readouterr().err
    assert not (tmp_path / "other" / "results").exists()


def test_prompting_baselines_are_rows_of_the_same_table(tmp_path: Path, capsys) -> None:
    study = tmp_path / "study"
    # model=tiny_llama on the command line stands in for the baseline's SmolLM2
    main(
        [
            str(study),
            "--baselines",
            "zero_shot,few_shot",
            "--seeds",
            "1,2",
            "--method-overrides",
            "zero_shot:objective.label_words=[no,yes]",  # a baseline takes its own overrides
            *SHARED,
            "model=tiny_llama",
        ]
    )
    rows = {r["method"]: r for r in json.loads((study / "comparison.json").read_text())}
    zero = "zero_shot (objective.label_words=[no,yes]) (baseline)"
    for name in (zero, "few_shot (baseline)"):
        assert rows[name]["trainable_pct"] == 0, rows[name]["failed"]
        assert rows[name]["best_lr"] is None
    # no example shown: every seed would run the same prompts, so zero-shot runs once
    assert rows[zero]["seeds"] == 1
    assert rows["few_shot (baseline)"]["seeds"] == 2  # the seed draws the examples shown
    table = (study / "comparison.md").read_text()
    assert "| few_shot (baseline) | - | 2 |" in table
    assert f"| {zero} | - | 1 |" in table
    row = {line.split(" |")[0]: line for line in table.splitlines()}
    assert " +- " not in row[f"| {zero}"]  # one run: no spread to show
    assert " +- " in row["| few_shot (baseline)"]
    assert len(list((study / "results").glob("*.json"))) == 3
    words = [
        json.loads(kept.read_text()).get("job", {}).get("overrides", [])
        for kept in (study / "results").glob("*.json")
    ]
    assert sum("objective.label_words=[no,yes]" in job for job in words) == 1, words


def test_a_tagging_study_ranks_by_entity_f1(tmp_path: Path) -> None:
    ner = [
        "objective=token_classify",
        "data=ner_en",
        *DATA["ner_en"],
    ]
    tiny = [a for a in SHARED if not a.startswith("data")]
    main([str(tmp_path), "--methods", "lora", "--seeds", "1", "--lr-factors", "1", *tiny, *ner])
    (row,) = json.loads((tmp_path / "comparison.json").read_text())
    assert row["headline"] == "test/f1"  # the objective's own optimized metric, on test
    assert 0 <= row["score"][0] <= 1
    assert (
        "| method | best lr | seeds | test f1 | test precision / recall |"
        in (tmp_path / "comparison.md").read_text()
    )


@pytest.mark.slow  # the edge and the rate past it: unit tests in test_study_table.py
def test_a_search_whose_best_rate_is_on_the_edge_widens_past_it(tmp_path: Path) -> None:
    # with two rates the best is always on an edge: --widen 1 adds exactly one rate beyond it
    args = ["--methods", "lora", "--seeds", "1", "--lr-factors", "0.5,2", *SHARED]
    main([str(tmp_path), *args])
    (narrow,) = json.loads((tmp_path / "comparison.json").read_text())
    assert narrow["edge"] in {"top", "bottom"}
    main([str(tmp_path), "--widen", "1", *args])
    (wide,) = json.loads((tmp_path / "comparison.json").read_text())
    searched = sorted(float(lr) for lr in wide["search"])
    beyond = 8e-3 if narrow["edge"] == "top" else 1.25e-4  # 1e-3 x 2 x 4, or x 0.5 / 4
    assert searched == pytest.approx(sorted([5e-4, 2e-3, beyond]))
    assert len(list((tmp_path / "results").glob("*.json"))) == 3  # the two rates were kept
    assert wide["best_lr"] == float(max(wide["search"], key=lambda lr: wide["search"][lr]))


@pytest.mark.slow  # a migration path: `make test-all`
def test_results_kept_by_an_older_version_are_reused_unless_their_config_changed(
    tmp_path: Path, capsys
) -> None:
    args = [str(tmp_path), "--methods", "lora", "--seeds", "1", "--lr-factors", "1", *SHARED]
    main(args)
    (result,) = (tmp_path / "results").glob("*.json")
    kept = json.loads(result.read_text())
    # as an older version kept it: another key, no recorded config, and a config without a
    # key added since (at its default), read from the run dir
    recorded = Path(kept["run_dir"]) / ".hydra" / "config.yaml"
    older = recorded.read_text()
    assert "  head_lr_scale: 1.0\n" in older
    recorded.write_text(older.replace("  head_lr_scale: 1.0\n", ""))
    del kept["config"]
    result.unlink()
    (tmp_path / "results" / "0000000000000000.json").write_text(json.dumps(kept))
    capsys.readouterr()
    main([*args, "method.r=16"])  # spelt otherwise (the default r named), the same job
    out = capsys.readouterr().out
    assert "kept as 0000000000000000" in out
    assert "[study] 0 job(s) run now" in out
    assert json.loads(result.read_text())["metrics"] == kept["metrics"]

    result.unlink()  # an older run whose settings differ is not today's job: it runs again
    recorded.write_text(older.replace("  head_lr_scale: 1.0\n", "  head_lr_scale: 3.0\n"))
    main(args)
    assert "[study] 1 job(s) run now" in capsys.readouterr().out


@pytest.mark.slow  # the curve and its table: unit tests in test_study_table.py
def test_a_data_size_axis_runs_the_study_per_size_and_draws_the_learning_curve(
    tmp_path: Path, capsys
) -> None:
    study = tmp_path / "study"
    args = ["--methods", "linear_probe", "--seeds", "1", "--lr-factors", "1"]
    main([str(study), *args, "--train-samples", "16,all", *SHARED])
    lines = (study / "learning_curve.md").read_text().strip().splitlines()
    assert lines[0] == "| method | test/acc @ 16 train | test/acc @ all train |"
    assert lines[2].startswith("| linear_probe | **0.")  # the best (only) method is marked
    assert lines[-1] == "| best | linear_probe | linear_probe |"
    by_size = json.loads((study / "learning_curve.json").read_text())
    assert list(by_size) == ["16", "all"]
    assert (study / "learning_curve.png").stat().st_size > 0
    assert (study / "train-16" / "comparison.md").is_file()
    assert (study / "train-all" / "comparison.md").is_file()
    kept = [json.loads(p.read_text()) for p in (study / "results").glob("*.json")]
    caps = sorted(
        yaml_value(Path(r["run_dir"]) / ".hydra" / "config.yaml", "train_samples") for r in kept
    )
    assert caps == ["16", "null"]  # one job per size: the cap reached the run
    with pytest.raises(SystemExit) as refused:
        main([str(tmp_path / "other"), *args, "--train-samples", "16,lots", *SHARED])
    assert refused.value.code == 2
    assert "--train-samples='16,lots'" in capsys.readouterr().err


def test_steps_give_every_job_the_same_optimiser_steps_and_one_validation(
    tmp_path: Path, capsys
) -> None:
    study = tmp_path / "study"
    args = ["--methods", "linear_probe", "--seeds", "1", "--lr-factors", "1", "--steps", "3"]
    # 16 examples in batches of 8 with 2 batches per step: one step per epoch
    small = ["data.train_samples=16", "data.batch_size=8", "trainer.accumulate_grad_batches=2"]
    main([str(study), *args, *SHARED, *small])
    (kept,) = [json.loads(p.read_text()) for p in (study / "results").glob("*.json")]
    assert kept["metrics"]["trainer/global_step"] == 3  # optimiser steps, not batches
    assert kept["metrics"]["trainer/epochs"] == 3  # as many epochs as the steps took
    logged = (Path(kept["run_dir"]) / "csv" / "metrics.csv").read_text().splitlines()
    header = logged[0].split(",")
    val_rows = [r for r in logged[1:] if r.split(",")[header.index("val/acc")]]
    assert len(val_rows) == 1  # validated once, after the last step
    with pytest.raises(SystemExit) as refused:
        main([str(tmp_path / "other"), *args[:-1], "-2", *SHARED])
    assert refused.value.code == 2
    assert "--steps=-2" in capsys.readouterr().err


def yaml_value(path: Path, key: str) -> str:
    """The first ``key: value`` of a YAML file, as written."""
    line = next(x for x in path.read_text().splitlines() if x.strip().startswith(f"{key}:"))
    return line.split(":", 1)[1].strip()


def test_an_experiment_gives_a_method_its_own_overrides_and_a_flag_replaces_one(
    tmp_path: Path,
) -> None:
    study = tmp_path / "study"
    configured = '+study.method_overrides.lora=["trainer.max_epochs=3","method.r=4"]'
    flag = "lora:trainer.max_epochs=2"  # replaces the experiment's max_epochs, keeps its r
    main(
        [
            str(study),
            "--methods",
            "lora",
            "--seeds",
            "1",
            "--lr-factors",
            "1",
            *SHARED,
            configured,
            "--method-overrides",
            flag,
        ]
    )
    rows = {r["method"]: r for r in json.loads((study / "comparison.json").read_text())}
    assert rows["lora (method.r=4 trainer.max_epochs=2)"]["seeds"] == 1
    (kept,) = [json.loads(p.read_text()) for p in (study / "results").glob("*.json")]
    ran = (Path(kept["run_dir"]) / ".hydra" / "config.yaml").read_text()
    assert "max_epochs: 2" in ran
    assert "r: 4" in ran
    assert "study" not in kept["config"]  # the study's settings are not the job's identity
