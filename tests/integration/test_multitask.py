"""objective=multitask: one encoder, a classifier and a masked-LM head, weighted losses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from ftexp.objectives.multitask.weighting import Cosine, Linear, Static, Uncertainty
from ftexp.objectives.multitask.weights import UncertaintyWeights
from tests.conftest import TINY, build_module, group_options, run_ftexp, tiny_cfg

TASKS = ("classify", "mlm")


def test_scheduled_weights_follow_their_curves() -> None:
    static = Static(alpha={"mlm": 0.25})
    assert static.alphas(0.7, TASKS) == {"classify": 1.0, "mlm": 0.25}
    linear = Linear(start={"mlm": 1.0}, end={"mlm": 0.0})
    assert [linear.alphas(t, TASKS)["mlm"] for t in (0, 0.25, 1)] == [1.0, 0.75, 0.0]
    assert linear.alphas(0.5, TASKS)["classify"] == 1.0  # a task left out weighs 1 at both ends
    cosine = Cosine(start={"mlm": 1.0}, end={"mlm": 0.0})
    assert cosine.alphas(0.5, TASKS)["mlm"] == pytest.approx(0.5)
    assert cosine.alphas(0.25, TASKS)["mlm"] > linear.alphas(0.25, TASKS)["mlm"]  # slow start
    assert cosine.alphas(1.0, TASKS)["mlm"] == pytest.approx(0.0)


def test_weighting_settings_are_checked() -> None:
    assert "names ['cls']" in Static(alpha={"cls": 1.0}).problems(TASKS)[0]
    assert ">= 0" in Linear(end={"mlm": -1.0}).problems(TASKS)[0]
    assert Uncertainty(init=99).problems(TASKS)
    assert not Cosine(start={"mlm": 2.0}).problems(TASKS)


def test_uncertainty_weighting_is_kendalls_loss_and_learns_to_down_weight_the_noisier_task() -> (
    None
):
    weights = UncertaintyWeights(TASKS, init=0.5)
    losses = {"classify": torch.tensor(0.2), "mlm": torch.tensor(6.0)}
    total, alphas = weights(losses, 0.0)
    expected = sum(math.exp(-0.5) * v + 0.25 for v in (0.2, 6.0))
    assert float(total) == pytest.approx(expected)
    assert alphas["mlm"] == pytest.approx(math.exp(-0.5))
    optimizer = torch.optim.SGD(weights.parameters(), lr=0.1)
    for _ in range(50):
        optimizer.zero_grad()
        weights(losses, 0.0)[0].backward()
        optimizer.step()
    _, alphas = weights(losses, 0.0)
    assert alphas["mlm"] < 0.5 < alphas["classify"]  # the larger loss weighs less


def test_the_masked_lm_head_runs_on_the_classifiers_own_encoder(tmp_path: Path) -> None:
    module, _ = build_module(tiny_cfg(tmp_path, "objective=multitask", "method=lora"))
    classifier = module.model.get_base_model()
    auxiliary = module.auxiliary.model
    assert auxiliary.bert is classifier.bert  # one encoder, LoRA layers included
    assert any("lora_A" in name for name, _ in auxiliary.bert.named_parameters())
    tied = auxiliary.get_output_embeddings().weight
    assert tied is classifier.get_input_embeddings().weight
    trained = {name for name, _ in module.objective_parameters()}
    assert trained
    assert all(name.startswith("auxiliary.head.") for name in trained)


# linear and cosine are schedules of fixed weights, as static is: `make test-all` runs them
@pytest.mark.parametrize(
    "weighting",
    [
        pytest.param(w, marks=pytest.mark.slow) if w in ("linear", "cosine") else w
        for w in group_options("objective/weighting")
    ],
)
def test_each_weighting_trains_and_logs_every_task(weighting: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_ftexp(
        *TINY,
        "objective=multitask",
        f"objective/weighting={weighting}",
        "method=full",
        "trainer.max_epochs=2",
        "callbacks.early_stopping.patience=100",  # every step runs: the schedule's end is reached
        f"hydra.run.dir={run}",
    )
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("test/acc", "test/f1", "test/mlm_loss", "val/mlm_loss", "train/loss_mlm"):
        assert math.isfinite(metrics[key]), key
    last = {task: metrics[f"train/alpha_{task}"] for task in TASKS}  # at the last step
    if weighting in ("linear", "cosine"):
        assert last == {"classify": 1.0, "mlm": pytest.approx(0.0, abs=1e-9)}
    if weighting == "static":
        assert last == {"classify": 1.0, "mlm": 0.5}
    if weighting == "uncertainty":
        saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
        assert not torch.equal(saved["weighting.log_vars"], torch.zeros(2))  # learned
    assert (run / "model" / "adapter_config.json").exists() is False  # full: the classifier
    assert json.loads((run / "model" / "config.json").read_text())["architectures"] == [
        "BertForSequenceClassification"
    ]
