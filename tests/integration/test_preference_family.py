"""DPO's loss types, KTO, ORPO and SimPO train a tiny causal LM on preference pairs.

Each starts where its loss says it must when the policy is still its reference (the known
value at a zero margin), learns, and keeps (or, reference-free, never builds) a reference.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tests.conftest import run_ftexp
from tests.integration.test_lm_objectives import PREFS, build, fit_steps
from tests.options import DATA

# objective overrides -> the loss of the first step, where policy == reference
AT_THE_START = {
    "dpo-sigmoid": (["objective=dpo"], math.log(2)),
    "dpo-hinge": (["objective=dpo", "objective.loss_type=hinge"], 1.0),
    "dpo-ipo": (["objective=dpo", "objective.loss_type=ipo"], (1 / (2 * 0.1)) ** 2),
    "kto": (["objective=kto"], 0.5),  # 1 - sigmoid(0), both kinds
}


@pytest.mark.parametrize("name", list(AT_THE_START))
@pytest.mark.parametrize("method", ["lora", "full"])
def test_reference_losses_start_at_a_zero_margin_and_learn(
    name: str, method: str, tmp_path: Path
) -> None:
    objective, first = AT_THE_START[name]
    module, data = build(tmp_path, [*PREFS, *objective, "model=tiny_llama", f"method={method}"])
    assert (module.reference_model is not None) == (method == "full")
    batch = next(iter(data.train_dataloader()))
    module.model.eval()  # no dropout: policy == reference exactly at the start
    losses = fit_steps(module, batch, lambda b: module.step(b, "train"))
    assert losses[0] == pytest.approx(first, rel=1e-4)
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("objective", ["orpo", "simpo"])
def test_reference_free_objectives_keep_no_reference_and_learn(
    objective: str, tmp_path: Path
) -> None:
    module, data = build(
        tmp_path, [*PREFS, f"objective={objective}", "model=tiny_llama", "method=full"]
    )
    assert not hasattr(module, "reference_model")
    batch = next(iter(data.train_dataloader()))
    passes = module.memory_passes(batch)
    assert [p.reference for p in passes] == [False]  # one pass, over both responses
    losses = fit_steps(module, batch, lambda b: module.step(b, "train"))
    assert losses[-1] < losses[0], losses


def test_kto_reference_point_is_the_clamped_kl_on_mismatched_pairs(tmp_path: Path) -> None:
    from ftexp.objectives.preference.kto import mismatched
    from ftexp.objectives.preference.module import response_logps

    module, data = build(tmp_path, [*PREFS, "objective=kto", "model=tiny_llama", "method=full"])
    batch = next(iter(data.train_dataloader()))
    module.model.eval()
    both = {
        k: torch.cat([batch[f"chosen_{k}"], batch[f"rejected_{k}"]])
        for k in ("input_ids", "attention_mask", "labels")
    }
    assert module.reference_point(both).item() == 0.0  # policy == reference
    fit_steps(module, batch, lambda b: module.step(b, "train"), steps=6)
    sample = mismatched(both)
    with torch.no_grad():
        raw = (
            response_logps(module.model, sample) - response_logps(module.reference_model, sample)
        ).mean()
    assert raw.item() != 0.0  # the policy moved on responses it was never trained on
    assert module.reference_point(both).item() == pytest.approx(max(raw.item(), 0.0), abs=1e-6)


UNPAIRED = [
    "data=unpaired_preference",
    *DATA["unpaired_preference"],
    "data.prompts=[{label: pos, prompt: 'say something nice'},"
    " {label: neg, prompt: 'say something mean'}]",
    "data.batch_size=6",
]


def test_kto_on_a_pair_batch_equals_kto_on_its_replies_judged_one_by_one(tmp_path: Path) -> None:
    """TRL's unpairing: a pair is one desirable and one undesirable example, nothing more."""
    from ftexp.objectives.preference.kto import judged_rows

    module, data = build(tmp_path, [*PREFS, "objective=kto", "model=tiny_llama", "method=lora"])
    module.model.eval()
    pairs = next(iter(data.train_dataloader()))
    fit_steps(module, pairs, lambda b: module.step(b, "train"), steps=3)  # policy != reference
    rows, desirable = judged_rows(pairs)
    n = len(pairs["chosen_input_ids"])
    assert desirable.tolist() == [True] * n + [False] * n
    with torch.no_grad():
        paired = module.step(pairs, "train")
        unpaired = module.step({**rows, "desirable": desirable}, "train")
        flipped = module.step({**rows, "desirable": ~desirable}, "train")
    assert unpaired.item() == pytest.approx(paired.item(), rel=1e-6)
    assert flipped.item() != pytest.approx(paired.item(), rel=1e-3)


def test_kto_learns_from_unpaired_replies_of_both_kinds(tmp_path: Path) -> None:
    module, data = build(tmp_path, [*UNPAIRED, "objective=kto", "model=tiny_llama", "method=full"])
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"input_ids", "attention_mask", "labels", "desirable"}
    assert 0 < int(batch["desirable"].sum()) < len(batch["desirable"])  # both kinds in a batch
    module.model.eval()
    losses = fit_steps(module, batch, lambda b: module.step(b, "train"))
    assert losses[0] == pytest.approx(0.5, rel=1e-4)  # 1 - sigmoid(0) at policy == reference
    assert losses[-1] < losses[0], losses


def test_kto_on_unpaired_replies_trains_over_two_ddp_ranks(tmp_path: Path) -> None:
    """The reference point is all-reduced and each rank logs the same keys, one kind or two."""
    run = tmp_path / "run"
    run_ftexp(
        *UNPAIRED,
        "objective=kto",
        "model=tiny_llama",
        "method=lora",
        "data.batch_size=2",
        "data.eval_batch_size=1",  # some eval batches hold one kind only
        "trainer=ddp",
        "trainer.devices=2",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        f"hydra.run.dir={run}",
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["trainer/global_step"] >= 1
    assert {"test/loss", "test/kl", "test/reward_chosen", "test/reward_rejected"} <= set(metrics)
    assert "test/reward_acc" not in metrics  # no pairs: no accuracy to speak of
