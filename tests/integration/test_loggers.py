"""Loggers write real files: csv, tensorboard event files, W&B offline runs."""

from __future__ import annotations

from pathlib import Path

from ftexp.run import train
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
