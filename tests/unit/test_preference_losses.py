"""The preference losses against hand computations, and KTO's mismatched KL sample."""

from __future__ import annotations

import math

import pytest
import torch

from ftexp.objectives.preference import DPO, DPOLoss
from ftexp.objectives.preference.kto import mismatched
from ftexp.objectives.preference.losses import (
    dpo_loss,
    kto_loss,
    log_odds,
    orpo_odds_ratio_loss,
    simpo_loss,
)

# policy chosen, policy rejected, reference chosen, reference rejected
PAIR = tuple(torch.tensor([v]) for v in (-1.0, -2.0, -1.5, -1.5))


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_dpo_sigmoid_matches_a_hand_computation() -> None:
    loss, chosen, rejected = dpo_loss(*PAIR, 0.1)
    # margin = 0.1 * ((-1 + 1.5) - (-2 + 1.5)) = 0.1; loss = log(1 + e^-0.1)
    assert loss.item() == pytest.approx(_softplus(-0.1), abs=1e-6)
    assert chosen.item() == pytest.approx(0.05)
    assert rejected.item() == pytest.approx(-0.05)
    smoothed, _, _ = dpo_loss(*PAIR, 0.1, 0.2)
    assert smoothed.item() == pytest.approx(0.8 * _softplus(-0.1) + 0.2 * _softplus(0.1), abs=1e-6)


def test_hinge_and_ipo_match_hand_computations() -> None:
    hinge, _, _ = dpo_loss(*PAIR, 0.1, loss_type="hinge")
    assert hinge.item() == pytest.approx(1 - 0.1, abs=1e-6)  # relu(1 - beta * 1.0)
    far = tuple(torch.tensor([v]) for v in (0.0, -30.0, 0.0, 0.0))  # margin 3.0 with beta 0.1
    assert dpo_loss(*far, 0.1, loss_type="hinge")[0].item() == 0.0
    ipo, _, _ = dpo_loss(*PAIR, 0.1, loss_type="ipo")
    # (log-ratio margin - 1 / (2 tau))^2 = (1 - 5)^2
    assert ipo.item() == pytest.approx(16.0, abs=1e-5)
    at_target = tuple(torch.tensor([v]) for v in (0.0, -5.0, 0.0, 0.0))
    assert dpo_loss(*at_target, 0.1, loss_type="ipo")[0].item() == pytest.approx(0.0, abs=1e-9)


def test_kto_matches_a_hand_computation() -> None:
    policy_chosen, policy_rejected, reference_chosen, reference_rejected = PAIR
    kl = torch.tensor(0.2)
    losses = kto_loss(
        torch.cat([policy_chosen, policy_rejected]),
        torch.cat([reference_chosen, reference_rejected]),
        torch.tensor([True, False]),
        kl,
        0.1,
        1.0,
        1.5,
    )
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    desirable = 1 - sigmoid(0.1 * (0.5 - 0.2))  # log-ratio of the chosen: -1 + 1.5
    undesirable = 1.5 * (1 - sigmoid(0.1 * (0.2 - (-0.5))))  # of the rejected: -2 + 1.5
    assert losses.tolist() == pytest.approx([desirable, undesirable], abs=1e-6)


def test_orpo_odds_ratio_matches_a_hand_computation() -> None:
    chosen, rejected = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.2)])
    assert log_odds(chosen).item() == pytest.approx(0.0, abs=1e-6)  # p = 0.5: odds 1
    # odds 1 vs 0.25: log odds ratio log 4; loss = log(1 + 1/4)
    loss = orpo_odds_ratio_loss(chosen, rejected)
    assert loss.item() == pytest.approx(math.log(1.25), abs=1e-6)


def test_simpo_matches_a_hand_computation() -> None:
    chosen, rejected = torch.tensor([-0.5]), torch.tensor([-1.5])
    # -log sigmoid(beta * (avg_w - avg_l) - gamma), gamma = 0.5 * beta
    loss = simpo_loss(chosen, rejected, beta=2.0, gamma_beta_ratio=0.5)
    assert loss.item() == pytest.approx(_softplus(-(2.0 * 1.0 - 1.0)), abs=1e-6)


def test_kto_kl_sample_puts_each_prompt_before_the_next_rows_reply() -> None:
    # prompt tokens 1-3 (label -100), reply tokens 7-9; right-padded with 0
    ids = torch.tensor([[1, 2, 7, 7, 0], [3, 3, 3, 8, 0], [1, 9, 9, 9, 9]])
    labels = torch.tensor(
        [[-100, -100, 7, 7, -100], [-100, -100, -100, 8, -100], [-100, 9, 9, 9, 9]]
    )
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    sample = mismatched({"input_ids": ids, "labels": labels, "attention_mask": mask})
    assert sample["input_ids"].tolist() == [[1, 2, 8, 0, 0], [3, 3, 3, 9, 9], [1, 7, 7, 0, 0]]
    assert sample["labels"].tolist() == [
        [-100, -100, 8, -100, -100],
        [-100, -100, -100, 9, 9],  # cut at the batch's width
        [-100, 7, 7, -100, -100],
    ]
    assert sample["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]


def test_dpo_settings_name_the_loss_types_and_refuse_smoothing_outside_sigmoid() -> None:
    assert DPO(loss_type="ipo").problems() == []
    assert "one of sigmoid, hinge, ipo" in DPO(loss_type="dpo").problems()[0]
    assert (
        "loss_type=sigmoid only" in DPO(loss_type=DPOLoss.HINGE, label_smoothing=0.1).problems()[0]
    )
