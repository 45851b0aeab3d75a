"""Data-parallel training on CPU: 2 processes (gloo), launched as users launch it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ftexp.data.sampling import LengthGroupedBatchSampler
from tests.conftest import TINY


def test_each_rank_takes_its_own_share_of_the_length_grouped_batches(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ftexp.data.sampling as sampling

    lengths = list(range(1, 42))
    shares = []
    for rank in (0, 1):
        monkeypatch.setattr(sampling, "_world", lambda rank=rank: (rank, 2))
        sampler = LengthGroupedBatchSampler(lengths, batch_size=4, seed=0)
        shares.append(list(sampler))
    assert len(shares[0]) == len(shares[1]) == 6  # 11 batches over 2 ranks, wrapped to 12
    seen = [i for share in shares for batch in share for i in batch]
    assert set(seen) == set(range(len(lengths)))  # every example trains
    assert not {tuple(b) for b in shares[0][:5]} & {tuple(b) for b in shares[1][:5]}


def test_ddp_on_two_cpu_processes_writes_one_run(tmp_path: Path) -> None:
    env = {**os.environ, "FTEXP_OUTPUTS": str(tmp_path / "outputs"), "WANDB_MODE": "offline"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftexp",
            *TINY,
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.max_epochs=1",
            "method=lora",
            "logger=wandb",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [p.parent for p in (tmp_path / "outputs").rglob("metrics.json")]
    assert len(runs) == 1, runs  # the second rank joins the first rank's run dir
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    # 96 fixture rows -> ~77 training rows -> 5 batches of 16 -> 3 steps per rank
    assert metrics["trainer/global_step"] == 3
    assert 0 <= metrics["test/acc"] <= 1
    assert (runs[0] / "model" / "adapter_model.safetensors").is_file()
    assert (
        len(list((runs[0] / "wandb").glob("offline-run-*"))) == 1
    )  # one W&B run, not one per rank
