"""DDP and FSDP2 on CPU: 2 processes (gloo), launched as users launch them; multirun x DDP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ftexp.data.sampling import ShardedBatchSampler
from tests.conftest import TINY, run_ftexp

TWO_CPU_RANKS = ["trainer.accelerator=cpu", "trainer.devices=2"]


@pytest.mark.parametrize("size", [41, 64, 65, 3])
@pytest.mark.parametrize("shuffle", [True, False])
def test_ranks_take_disjoint_shares_that_cover_the_split_in_equal_steps(
    monkeypatch: pytest.MonkeyPatch, size: int, shuffle: bool
) -> None:
    import ftexp.data.sampling as sampling

    lengths = [(i * 7) % 13 + 1 for i in range(size)]
    shares = []
    for rank in (0, 1):
        monkeypatch.setattr(sampling, "_world", lambda rank=rank: (rank, 2))
        sampler = ShardedBatchSampler(size, batch_size=4, seed=0, lengths=lengths, shuffle=shuffle)
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler)
    assert len(shares[0]) == len(shares[1])  # same number of steps: no rank waits on another
    seen = [[i for batch in share for i in batch] for share in shares]
    assert not set(seen[0]) & set(seen[1])  # disjoint
    assert sorted(seen[0] + seen[1]) == list(range(size))  # every example exactly once
    assert all(batch for share in shares for batch in share)


def test_two_ranks_of_half_batches_see_the_global_batches_of_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ftexp.data.sampling as sampling

    lengths = [(i * 5) % 17 + 1 for i in range(90)]
    monkeypatch.setattr(sampling, "_world", lambda: (0, 1))
    single = list(ShardedBatchSampler(90, 8, seed=3, lengths=lengths))
    ranks = []
    for rank in (0, 1):
        monkeypatch.setattr(sampling, "_world", lambda rank=rank: (rank, 2))
        ranks.append(list(ShardedBatchSampler(90, 4, seed=3, lengths=lengths)))
    assert [a + b for a, b in zip(*ranks, strict=True)] == single


def test_ddp_on_two_cpu_processes_writes_one_run(tmp_path: Path) -> None:
    run_ftexp(
        *TINY,
        *TWO_CPU_RANKS,
        "trainer=ddp",
        "trainer.max_epochs=1",
        "method=lora",
        "logger=wandb",
        "data.test_fraction=0.11",  # 11 test rows: shares of 6 and 5, gathered for the figures
        cwd=tmp_path,
        env={"FTEXP_OUTPUTS": str(tmp_path / "outputs"), "WANDB_MODE": "offline"},
    )
    runs = [p.parent for p in (tmp_path / "outputs").rglob("metrics.json")]
    assert len(runs) == 1, runs  # the second rank joins the first rank's run dir
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    # 96 fixture rows -> ~77 training rows -> 5 batches of 16 -> 3 steps per rank
    assert metrics["trainer/global_step"] == 3
    assert 0 <= metrics["test/acc"] <= 1
    assert (runs[0] / "model" / "adapter_model.safetensors").is_file()
    assert (runs[0] / "roc.png").is_file()
    assert (runs[0] / "confusion.png").is_file()
    assert (
        len(list((runs[0] / "wandb").glob("offline-run-*"))) == 1
    )  # one W&B run, not one per rank


def test_hydra_multirun_of_ddp_jobs_runs_each_job_once_in_its_own_dir(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run_ftexp(
        "-m",
        f"hydra.sweep.dir={sweep}",
        *TINY,
        *TWO_CPU_RANKS,
        "trainer=ddp",
        "trainer.max_epochs=1",
        "method=lora",
        "seed=1,2",
        cwd=tmp_path,
        env={"FTEXP_OUTPUTS": str(tmp_path / "outputs")},
    )
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
    for job, seed in (("0", 1), ("1", 2)):
        assert f"seed: {seed}\n" in (sweep / job / "config.yaml").read_text()
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        assert metrics["trainer/global_step"] == 3  # sharded over 2 ranks, as in a single run
        assert (sweep / job / "train_ddp_process_1.log").is_file()  # rank 1 ran in this job
    assert not (tmp_path / "outputs").exists()  # no rank started a run or sweep of its own


def run_two_ranks(run_dir: Path, trainer: str, method: str) -> dict[str, float]:
    run_ftexp(
        *TINY,
        *TWO_CPU_RANKS,
        f"trainer={trainer}",
        "trainer.max_epochs=2",
        f"method={method}",
        f"hydra.run.dir={run_dir}",
    )
    return json.loads((run_dir / "metrics.json").read_text())


# LoRA under fsdp: the matrix's fsdp rows shard it for each objective; full is only here
@pytest.mark.parametrize("method", ["full", pytest.param("lora", marks=pytest.mark.slow)])
def test_fsdp2_on_two_cpu_processes_trains_like_ddp(tmp_path: Path, method: str) -> None:
    from safetensors.torch import load_file

    ddp = run_two_ranks(tmp_path / "ddp", "ddp", method)
    fsdp = run_two_ranks(tmp_path / "fsdp", "fsdp", method)

    assert "ModelParallelStrategy" in (tmp_path / "fsdp" / "config.yaml").read_text()
    assert fsdp["trainer/global_step"] == ddp["trainer/global_step"] > 0
    assert fsdp["params/trainable"] == ddp["params/trainable"]  # counted before sharding
    # same data shards, same updates: sharding changes where weights live, not the maths
    assert fsdp["test/loss"] == pytest.approx(ddp["test/loss"], abs=1e-4)
    weights = "model.safetensors" if method == "full" else "adapter_model.safetensors"
    saved_ddp = load_file(tmp_path / "ddp" / "model" / weights)
    saved_fsdp = load_file(tmp_path / "fsdp" / "model" / weights)  # gathered, unsharded
    assert saved_fsdp.keys() == saved_ddp.keys()
    for name, tensor in saved_ddp.items():
        torch.testing.assert_close(saved_fsdp[name], tensor, atol=1e-4, rtol=1e-4)


def test_two_nodes_of_one_process_each_write_one_sharded_run(tmp_path: Path) -> None:
    """2 nodes x 1 process on this machine, as SLURM or torchrun start them on a cluster."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "ftexp",
        *TINY,
        "trainer=ddp",
        "trainer.devices=1",
        "trainer.num_nodes=2",
        "trainer.max_epochs=1",
        "method=lora",
        f"hydra.run.dir={run}",
    ]
    nodes = [
        subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
                "NODE_RANK": str(node),
                "PYTHONHASHSEED": "0",
            },
        )
        for node in (0, 1)
    ]
    for node in nodes:
        _, err = node.communicate(timeout=600)
        assert node.returncode == 0, err[-3000:]
    assert [p.parent for p in tmp_path.rglob("metrics.json")] == [run]  # one run dir
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["trainer/global_step"] == 3  # the 2-rank share, as with trainer.devices=2
    assert "num_nodes: 2" in (run / "config.yaml").read_text()


def test_two_ranks_with_half_batches_end_where_one_process_with_the_whole_batch_ends(
    tmp_path: Path,
) -> None:
    """Same global batches, gradients averaged over ranks: the same training, up to dropout.

    Dropout masks are drawn per rank, so the runs are not bit-identical; without dropout the
    difference is float summation order only. The tolerance is stated here: 1e-3 on test loss.
    """
    no_dropout = ["method=lora", "method.dropout=0.0", "model.dropout=0.0"]
    one = tmp_path / "one"
    two = tmp_path / "two"
    run_ftexp(
        *TINY, *no_dropout, "data.batch_size=16", "trainer.max_epochs=2", f"hydra.run.dir={one}"
    )
    run_ftexp(
        *TINY,
        *no_dropout,
        *TWO_CPU_RANKS,
        "trainer=ddp",
        "data.batch_size=8",
        "trainer.max_epochs=2",
        f"hydra.run.dir={two}",
    )
    single = json.loads((one / "metrics.json").read_text())
    sharded = json.loads((two / "metrics.json").read_text())
    assert sharded["trainer/global_step"] == single["trainer/global_step"]
    assert sharded["test/loss"] == pytest.approx(single["test/loss"], abs=1e-3)
    assert sharded["test/acc"] == pytest.approx(single["test/acc"], abs=1e-6)
