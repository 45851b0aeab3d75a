"""Loggers write real files: csv, tensorboard event files, W&B offline runs."""

from __future__ import annotations

from pathlib import Path

from ftexp.run.wiring import train
from tests.conftest import tiny_cfg


def test_tensorboard_writes_event_files(tmp_path: Path) -> None:
    train(tiny_cfg(tmp_path, "logger=tensorboard", "trainer.max_epochs=1"))
    events = list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    assert events
    assert events[0].stat().st_size > 0


def test_wandb_defaults_to_offline_and_writes_a_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    cfg = tiny_cfg(tmp_path, "logger=wandb", "trainer.max_epochs=1")
    assert cfg.logger.wandb.mode == "offline"
    train(cfg)
    runs = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1
    assert runs[0].stat().st_size > 0


def test_wandb_offline_file_holds_config_metrics_and_summary(tmp_path: Path, monkeypatch) -> None:
    from ftexp.infra.wandb_offline import read_offline_run

    monkeypatch.delenv("WANDB_MODE", raising=False)
    train(tiny_cfg(tmp_path, "logger=wandb", "method=lora", "trainer.log_every_n_steps=1"))
    files = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1
    run = read_offline_run(files[0])
    assert files[0].parent.name.endswith(run.run_id)
    assert run.config["method"]["_target_"] == "ftexp.methods.lora.LoRA"
    assert run.config["seed"] == 42
    logged = {k for row in run.history for k in row}
    assert {"train/loss", "val/acc", "trainer/global_step"} <= logged
    assert 0 <= run.summary["test/acc"] <= 1


def test_a_wandb_run_left_open_by_a_crashed_job_is_not_reused(tmp_path: Path, monkeypatch) -> None:
    import wandb

    from ftexp.infra.wandb_offline import read_offline_run

    monkeypatch.delenv("WANDB_MODE", raising=False)
    leftover = wandb.init(mode="offline", dir=str(tmp_path / "crashed"), project="ftexp")
    train(tiny_cfg(tmp_path, "logger=wandb", "trainer.max_epochs=1"))
    assert wandb.run is None
    (own,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    run = read_offline_run(own)
    assert run.run_id != leftover.id
    assert run.config["seed"] == 42
    assert "test/acc" in run.summary


def test_resumed_run_continues_the_same_wandb_run(tmp_path: Path, monkeypatch) -> None:
    from ftexp.infra.wandb_offline import read_offline_run

    monkeypatch.delenv("WANDB_MODE", raising=False)
    train(tiny_cfg(tmp_path, "logger=wandb", "trainer.max_epochs=1"))
    first = next((tmp_path / "wandb").glob("offline-run-*")).name.rsplit("-", 1)[1]
    last = tmp_path / "checkpoints" / "last.ckpt"
    train(tiny_cfg(tmp_path, "logger=wandb", "trainer.max_epochs=2", f"ckpt_path={last}"))
    files = sorted((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert {read_offline_run(f).run_id for f in files} == {first}
