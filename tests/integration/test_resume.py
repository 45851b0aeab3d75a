"""Exact resume: a run killed with SIGKILL mid-epoch and resumed ends like an uninterrupted one."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY, finished, resume_outcome, start_ftexp

RUN = [*TINY, "method=lora", "trainer.max_epochs=3", "data.batch_size=8", "save_model=false"]
# RLOO on the arithmetic prompts (toy reward: a random model never answers right), 6 batches
# of 8 per epoch: replies sampled each step, from random streams that must resume too
SAMPLED = [
    "model=tiny_llama",
    "objective=rloo",
    "data=arithmetic",
    "data.count=60",
    "data.val_fraction=0.1",
    "data.test_fraction=0.1",
    "~objective.reward",
    "+objective.reward={_target_: ftexp.rewards.CharacterReward, character: e}",
    "objective.group_size=2",
    "objective.max_new_tokens=4",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "method=lora",
    "trainer.max_epochs=2",
    "data.batch_size=8",
    "save_model=false",
]


def ftexp(run_dir: Path, *options: str) -> subprocess.Popen[str]:
    return start_ftexp(*options, f"hydra.run.dir={run_dir}")


@pytest.mark.parametrize(
    ("options", "batches"),  # the run, and its training batches per epoch
    [
        (RUN, 10),
        ([*RUN, "data.augment={swap: 0.2, delete: 0.1, insert: 0.1}"], 10),
        # masks drawn each step, an auxiliary head and learned loss weights: all resumed
        ([*RUN, "objective=multitask", "objective/weighting=uncertainty"], 10),
        (SAMPLED, 6),
        # two optimiser steps per sample batch, two batches per step: killed after 6 batches,
        # the resumed run trains the kept replies of both slots again
        (
            [
                *SAMPLED,
                "objective.num_iterations=2",
                "trainer.accumulate_grad_batches=2",
                "trainer.val_check_interval=6",
            ],
            12,
        ),
    ],
    ids=["plain", "augmented", "multitask", "rloo-sampled", "rloo-reused"],
)
def test_kill_9_mid_epoch_then_resume_gives_the_uninterrupted_result(
    tmp_path: Path, options: list[str], batches: int
) -> None:
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    finished(ftexp(reference, *options))

    victim = ftexp(resumed, *options)
    last = resumed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=60)
    assert not (resumed / "metrics.json").exists(), "the run finished before it was killed"
    state = torch.load(last, weights_only=True)  # plain tensors and numbers only
    killed_at = state["global_step"]
    served = state["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]["served"]
    assert 0 < served < batches  # mid-epoch

    finished(ftexp(resumed, *options, f"ckpt_path={last}"))
    assert resume_outcome(resumed) == resume_outcome(reference)  # bit-identical, not approximately
    assert resume_outcome(resumed)["trainer/global_step"] > killed_at
