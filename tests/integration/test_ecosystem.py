"""Fits the tools around it: a user's conf/ folder, W&B dashboards of a multirun."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import TINY, run_ftexp


def test_a_conf_folder_in_the_working_dir_adds_and_shadows_options(tmp_path: Path) -> None:
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "method").mkdir()
    (tmp_path / "conf" / "experiment" / "my_run.yaml").write_text(
        "# @package _global_\ntrainer:\n  max_epochs: 7\ntags: [mine]\n"
    )
    (tmp_path / "conf" / "method" / "lora.yaml").write_text(
        "_target_: ftexp.methods.lora.LoRA\nlr: 1e-3\nr: 3\nalpha: 6\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "ftexp", "experiment=my_run", "method=lora", "--cfg", "job"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    assert "max_epochs: 7" in done.stdout
    assert "- mine" in done.stdout
    assert "  r: 3\n" in done.stdout  # the user's lora.yaml shadows the packaged one
    elsewhere = subprocess.run(
        [sys.executable, "-m", "ftexp", "method=lora", "--cfg", "job"],
        capture_output=True,
        text=True,
        cwd=tmp_path / "conf",  # no conf/ below here: the packaged option
        timeout=120,
        check=True,
    )
    assert "  r: 16\n" in elsewhere.stdout


def test_wandb_runs_of_a_multirun_share_a_group_and_say_their_method(tmp_path: Path) -> None:
    from ftexp.infra.wandb_offline import read_offline_run

    sweep = tmp_path / "sweep"
    run_ftexp(
        "-m",
        *TINY,
        "method=lora,full",
        "trainer.max_epochs=1",
        "logger=wandb",
        "tags=[tiny,test]",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        env={"WANDB_MODE": "offline"},
    )
    runs = [read_offline_run(p) for p in sorted(sweep.glob("*/wandb/offline-run-*/run-*.wandb"))]
    assert len(runs) == 2
    assert {r.group for r in runs} == {"sweep"}  # the sweep dir: one group per sweep
    assert sorted(r.job_type for r in runs) == ["full", "lora"]
    assert sorted(r.name for r in runs) == ["method=full", "method=lora"]
    assert all(r.tags == ["tiny", "test"] for r in runs)


def test_mlflow_gets_config_metrics_model_and_a_resume_continues_its_run(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from ftexp.run.wiring import train
    from tests.conftest import tiny_cfg

    run = tmp_path / "run"
    common = [
        "logger=mlflow",
        f"paths.log_dir={tmp_path}",
        "method=lora",
        "upload_model=true",
        "trainer.log_every_n_steps=1",
    ]
    train(tiny_cfg(run, *common, "trainer.max_epochs=1"))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (first,) = client.search_runs([client.get_experiment_by_name("ftexp").experiment_id])
    assert first.data.params["method/r"] == "16"  # the resolved config, flattened
    assert first.data.params["seed"] == "42"
    steps = client.get_metric_history(first.info.run_id, "train/loss")
    assert len(steps) >= 3  # every logged step
    assert "test/acc" in first.data.metrics
    model = {a.path for a in client.list_artifacts(first.info.run_id, "model")}
    assert "model/adapter_model.safetensors" in model
    # the files themselves lie beside the store under the log dir, not in the working dir
    assert list(tmp_path.glob("mlartifacts/*/artifacts/model/adapter_model.safetensors"))

    train(tiny_cfg(run, *common, "trainer.max_epochs=2", f"ckpt_path={run}/checkpoints/last.ckpt"))
    runs = client.search_runs([client.get_experiment_by_name("ftexp").experiment_id])
    assert [r.info.run_id for r in runs] == [first.info.run_id]  # the same run, continued
    later = client.get_metric_history(first.info.run_id, "train/loss")
    assert max(m.step for m in later) > max(m.step for m in steps)
