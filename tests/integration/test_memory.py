"""The memory estimate: within 30% of the measured peak, by part where it must differ, for
every objective; the refusal it makes is tested with the other refusals (test_refusals)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftexp.checks.config_check import check_heavy
from ftexp.memory.check import fits, worst_batch
from ftexp.memory.estimate import MemoryEstimate, StepSetting, estimate_memory, sharded
from ftexp.run.wiring import build
from tests.conftest import TINY, compose_cfg, group_options, run_ftexp
from tests.options import DATA, SHORT_RUN, partners

SHORT = [
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]
# tiny models widened so weights and activations, not the interpreter, make the peak
WIDE_BERT = [
    "model.hidden_size=512",
    "model.intermediate_size=2048",
    "model.num_layers=4",
    "model.num_heads=8",
]
WIDE_LLAMA = [
    "model=tiny_llama",
    "model.config.hidden_size=512",
    "model.config.intermediate_size=2048",
    "model.config.num_hidden_layers=4",
    "model.config.num_attention_heads=8",
    "model.config.num_key_value_heads=4",
    "model.config.max_position_embeddings=512",
]
LONG_LM = [
    "objective=sft",
    "data=synthetic_lm",
    "data.seq_len=256",
    "data.train_samples=64",
    "data.eval_samples=8",
    "data.batch_size=16",
]
DPO = ["objective=dpo", "data=preference", *DATA["preference"], "data.batch_size=16"]
MEASURED = {
    "classify-full": [*TINY, *WIDE_BERT, "method=full"],
    "sft-lora": [*WIDE_LLAMA, *LONG_LM, "method=lora"],
    "sft-full-checkpointed": [
        *WIDE_LLAMA,
        *LONG_LM,
        "method=full",
        "speed.gradient_checkpointing=true",
    ],
    "dpo-full": [*WIDE_LLAMA, *DPO, "method=full"],
}
# glibc keeps freed heap blocks of up to 32 MiB mapped (its mmap threshold grows with use), so a
# CPU process's RSS can exceed its tensors by a quarter; a fixed threshold measures the tensors
TENSORS_ONLY = {"MALLOC_MMAP_THRESHOLD_": "65536"}


SLOWEST = ("sft-lora", "sft-full-checkpointed")  # ~45 s each on 2 cores: `make test-all`


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOWEST else c for c in MEASURED]
)
def test_the_estimate_is_within_30_percent_of_the_measured_peak(case: str, tmp_path: Path) -> None:
    done = run_ftexp(*MEASURED[case], *SHORT, f"hydra.run.dir={tmp_path}", env=TENSORS_ONLY)
    assert "[ftexp] memory estimate:" in done.stdout + done.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    process = metrics["memory/estimate_process_mb"]
    # what the run added over the process it started as: the model, its state, its step
    estimated = metrics["memory/estimate_mb"] - process
    measured = metrics["memory/peak_rss_mb"] - process
    print(f"{case}: estimated {estimated:.0f} MiB, measured {measured:.0f} MiB over the process")
    assert estimated > 200  # the widened model, not the interpreter, is what is compared
    assert 0.7 <= estimated / measured <= 1.3
    assert metrics["memory/estimate_over_peak"] == pytest.approx(
        metrics["memory/estimate_mb"] / metrics["memory/peak_rss_mb"]
    )


def estimate_of(
    overrides: list[str], setting: StepSetting | None = None
) -> tuple[MemoryEstimate, Any, dict[str, Any]]:
    """The estimate of a tiny run, its module and its worst batch (no weights loaded)."""
    module, data = build(check_heavy(compose_cfg(overrides)))
    batch = worst_batch(data.data)
    return estimate_memory(module, batch, setting or StepSetting()), module, batch


@pytest.mark.parametrize("objective", group_options("objective"))
def test_every_objective_gets_an_estimate_of_its_own_step(objective: str) -> None:
    base = [f"objective={objective}", *partners(objective)]
    full, _, _ = estimate_of([*base, "method=full"])
    lora, _, _ = estimate_of([*base, "method=lora"])
    assert not full.notes
    assert not lora.notes
    assert full.activations > 0
    assert full.rows > 0
    assert lora.weights >= full.weights > 0  # the adapters come on top of the frozen weights
    if objective == "in_context":  # prompting only: nothing trains
        assert full.gradients == full.optimizer == 0
        return
    assert lora.gradients < full.gradients  # only the adapters (and a new head) train
    assert full.optimizer == 2 * full.gradients  # AdamW: two moments per trained value
    keeps_reference = objective in ("dpo", "kto", "rl", "rloo")  # orpo, simpo: reference-free
    assert (full.reference == full.weights) is keeps_reference
    assert lora.reference == 0  # the adapters switched off are the reference


def test_parts_follow_the_precision_sharding_and_checkpointing() -> None:
    base = [*WIDE_LLAMA, *LONG_LM, "method=full"]
    fp32, module, batch = estimate_of(base)
    bf16 = estimate_memory(module, batch, StepSetting(precision="bf16-true"))
    assert bf16.weights == fp32.weights // 2
    assert 0.4 < bf16.activations / fp32.activations < 0.75  # softmax, norms, loss in fp32
    split = sharded(fp32, StepSetting(strategy="fsdp", devices=4))
    assert split.weights == fp32.weights // 4
    assert split.optimizer == fp32.optimizer // 4
    zero1 = sharded(fp32, StepSetting(strategy="deepspeed_stage_1", devices=4))
    assert zero1.weights == fp32.weights
    assert zero1.optimizer == fp32.optimizer // 4
    ddp = sharded(fp32, StepSetting(strategy="ddp", devices=2))
    assert ddp.gradients == 2 * fp32.gradients  # the gradient buckets
    recomputed, _, _ = estimate_of([*base, "speed.gradient_checkpointing=true"])
    assert recomputed.activations < 0.7 * fp32.activations
    assert recomputed.weights == fp32.weights


def test_qlora_counts_its_frozen_weights_at_their_packed_size() -> None:
    wide = [*TINY, *SHORT_RUN["qlora"], *WIDE_BERT]
    lora, _, _ = estimate_of([*wide, "method=lora"])
    qlora, _, _ = estimate_of([*wide, "method=qlora"])
    assert qlora.weights < 0.4 * lora.weights  # 4-bit blocks instead of fp32


def test_the_fixes_offered_each_bring_the_step_under_the_budget() -> None:
    cfg = [*WIDE_LLAMA, *LONG_LM, "method=full"]
    estimate, module, batch = estimate_of(cfg)
    trainer = compose_cfg(cfg).trainer
    budget = estimate.total - estimate.activations // 3  # activations must shrink
    offered = fits(estimate, module, batch, StepSetting(), budget, trainer)
    assert any(f.startswith("data.batch_size=8 trainer.accumulate_grad_batches=2") for f in offered)
    assert any(f.startswith("speed.gradient_checkpointing=true") for f in offered)
    assert not any(f.startswith("method=lora") for f in offered)  # activations, not state
    state_bound = estimate.total - estimate.optimizer // 2
    assert any(
        f.startswith("method=lora")
        for f in fits(estimate, module, batch, StepSetting(), state_bound, trainer)
    )
    too_small = fits(estimate, module, batch, StepSetting(), estimate.weights // 2, trainer)
    assert too_small == []  # not even the weights fit: nothing to offer but a bigger device


def test_memory_check_off_runs_without_an_estimate(tmp_path: Path) -> None:
    run_ftexp(*TINY, "method=lora", *SHORT, "trainer.memory_check=off", f"hydra.run.dir={tmp_path}")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "memory/estimate_mb" not in metrics
    assert metrics["memory/peak_rss_mb"] > 0


REAL = {
    # the estimate is of the longest batch (128 tokens); cut at 32, the measured batches are
    # that long too (at 128 the three measured ones are shorter and it read 1.45x their peak)
    "minilm-full": ["model=minilm", "data=sentiment", "method=full", "data.max_length=32"],
    "smollm2-dpo-lora": ["model=smollm2", "objective=dpo", "data=preference", "method=lora"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(REAL))
def test_the_estimate_of_a_real_run_is_within_30_percent(case: str, tmp_path: Path) -> None:
    run_ftexp(*REAL[case], *SHORT, f"hydra.run.dir={tmp_path}", env=TENSORS_ONLY)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 0.7 <= metrics["memory/estimate_over_peak"] <= 1.3


def test_augmented_data_is_estimated_on_its_drawn_batch() -> None:
    augmented, _, batch = estimate_of(
        [*TINY, "method=lora", "data.augment={swap: 0.2, delete: 0.1, insert: 0.1}"]
    )
    assert augmented.activations > 0
    assert batch["input_ids"].shape[0] == 16
