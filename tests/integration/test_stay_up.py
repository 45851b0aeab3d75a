"""Runs stop cleanly on a non-finite loss, and repeat exactly with the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ftexp.callbacks.guards import NonFiniteLossError
from ftexp.run.wiring import train
from tests.conftest import tiny_cfg


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ftexp.objectives.classify.module import ClassifyModule

    real_step = ClassifyModule.training_step

    def poisoned(self: ClassifyModule, batch: dict[str, torch.Tensor], idx: int) -> torch.Tensor:
        loss = real_step(self, batch, idx)
        return loss * float("nan") if self.global_step >= 5 else loss

    monkeypatch.setattr(ClassifyModule, "training_step", poisoned)
    cfg = tiny_cfg(tmp_path, "method=full", "trainer.max_epochs=3", "trainer.val_check_interval=2")
    with pytest.raises(NonFiniteLossError, match="step 5"):
        train(cfg)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert last["global_step"] <= 5
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values())


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        train(tiny_cfg(tmp_path / name, "method=lora", "trainer.max_epochs=2"))
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        runs.append({k: v for k, v in metrics.items() if k.startswith(("test/", "val/", "best/"))})
    assert runs[0] == runs[1]
    assert runs[0]["test/loss"] > 0
