"""The RL loss types, advantages and rewards against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from ftexp.data.arithmetic import ArithmeticData
from ftexp.data.prompts import PromptData
from ftexp.objectives.rl import RL, RLLoss
from ftexp.objectives.rl.losses import (
    Clip,
    clipped_share,
    group_advantages,
    leave_one_out_advantages,
    policy_loss,
)
from ftexp.objectives.rl.rewards import score
from ftexp.rewards import CharacterReward, ExactAnswer, final_number

# two replies: three tokens and one token (then padding)
WEIGHTS = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
ADVANTAGES = torch.tensor([1.0, -2.0])
CLIP = Clip(0.2, 0.2)


def loss_of(loss_type: str, policy: torch.Tensor, old: torch.Tensor, clip: Clip = CLIP) -> float:
    kl = torch.zeros_like(policy)
    return policy_loss(loss_type, policy, old, ADVANTAGES, kl, WEIGHTS, clip, 0.0, 4).item()


def test_on_policy_each_loss_type_averages_the_tokens_its_own_way() -> None:
    policy = torch.zeros(2, 3)  # ratio 1 everywhere: the surrogate is -A per token
    assert loss_of("grpo", policy, policy) == pytest.approx(
        (-1.0 + 2.0) / 2
    )  # per reply, then mean
    assert loss_of("dapo", policy, policy) == pytest.approx((-3.0 + 2.0) / 4)  # 4 reply tokens
    assert loss_of("dr_grpo", policy, policy) == pytest.approx((-3.0 + 2.0) / (2 * 4))  # x max_new
    assert loss_of("gspo", policy, policy) == pytest.approx((-1.0 + 2.0) / 2)


def test_ratios_are_clipped_per_token_or_per_reply() -> None:
    old = torch.zeros(2, 3)
    policy = torch.tensor([[math.log(1.5), 0.0, 0.0], [math.log(0.5), 0.0, 0.0]])
    # grpo, reply 1 (A = 1): tokens min(1.5, 1.2), 1, 1 -> -(1.2 + 1 + 1) / 3
    # reply 2 (A = -2): -min(0.5 * -2, 0.8 * -2) = 1.6
    assert loss_of("grpo", policy, old) == pytest.approx((-(3.2 / 3) + 1.6) / 2)
    # clip-higher lets the first token's ratio reach 1.5 (cap 1.6)
    assert loss_of("dapo", policy, old, Clip(0.2, 0.6)) == pytest.approx((-3.5 + 1.6) / 4)
    # gspo: one ratio per reply, the geometric mean of its tokens'
    r1 = 1.5 ** (1 / 3)
    assert loss_of("gspo", policy, old) == pytest.approx((-min(r1, 1.2) + 1.6) / 2)


def test_the_clipped_share_counts_tokens_the_clip_holds_back() -> None:
    old = torch.zeros(2, 3)
    assert clipped_share("grpo", old, old, ADVANTAGES, WEIGHTS, CLIP).item() == 0  # on-policy
    # reply 1 (A = 1): token 1 at 1.5 > 1.2 binds, token 2 at 0.5 does not (A > 0 lets it fall);
    # reply 2 (A = -2): its one reply token at 0.5 < 0.8 binds; its padding never counts
    policy = torch.tensor([[math.log(1.5), math.log(0.5), 0.0], [math.log(0.5), 9.0, 9.0]])
    assert clipped_share("grpo", policy, old, ADVANTAGES, WEIGHTS, CLIP).item() == pytest.approx(
        2 / 4
    )
    # clip-higher up to 1.6 releases the first token
    assert clipped_share(
        "dapo", policy, old, ADVANTAGES, WEIGHTS, Clip(0.2, 0.6)
    ).item() == pytest.approx(1 / 4)


def test_advantages_standardise_or_leave_one_out() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0])
    scaled = group_advantages(rewards, 4)
    assert scaled.sum().item() == pytest.approx(0, abs=1e-5)
    assert scaled[0].item() == pytest.approx(0.75 / rewards.std().item(), rel=1e-3)
    assert group_advantages(rewards, 4, scale=False).tolist() == pytest.approx(
        [0.75, -0.25, -0.25, -0.25]
    )
    # each less the mean of the other three: 1 - 0, 0 - 1/3
    assert leave_one_out_advantages(rewards, 4).tolist() == pytest.approx(
        [1.0, -1 / 3, -1 / 3, -1 / 3]
    )


def test_exact_answer_reads_the_last_number() -> None:
    assert final_number("3 + 4 = 7. So the answer is 7.") == "7"
    assert final_number("It is 1,200") == "1200"
    assert final_number("no idea") is None
    reward = ExactAnswer()
    scores = reward(
        prompts=["q"] * 4,
        completions=["7", "The total is 7.0", "8", "seven"],
        answer=["7", "7", "7", "7"],
    )
    assert scores == [1.0, 1.0, 0.0, 0.0]


def test_named_rewards_are_weighted_and_kept_apart() -> None:
    rewards = {"exact": ExactAnswer(), "e": CharacterReward("e")}
    total, each = score(rewards, {"e": 0.5}, ["q", "q"], ["ee 3", "3"], {"answer": ["3", "4"]})
    assert each["exact"].tolist() == [1.0, 0.0]
    assert each["e"].tolist() == pytest.approx([2 / 3, 0.0])
    assert total.tolist() == pytest.approx([1.0 + 0.5 * 2 / 3, 0.0])


def test_rl_settings_refuse_unknown_loss_types_and_weights() -> None:
    assert RL(reward=ExactAnswer(), loss_type=RLLoss.GSPO).problems() == []
    assert (
        "one of grpo, dr_grpo, dapo, gspo"
        in RL(reward=ExactAnswer(), loss_type="ppo").problems()[0]
    )
    unknown = RL(reward={"exact": ExactAnswer()}, reward_weights={"format": 1.0}).problems()
    assert unknown == ["objective.reward_weights names ['format'], not a reward of ['exact']"]
    assert "data.fields" in RL(reward=ExactAnswer()).data_problems(PromptData(prompts=["hi"]))[0]
    assert (
        "objective.num_iterations must be >= 1"
        in RL(reward=ExactAnswer(), num_iterations=0).problems()[0]
    )
    assert RL(reward=ExactAnswer(), num_iterations=3).batch_repeats == 3


def test_arithmetic_problems_carry_their_right_answers() -> None:
    data = ArithmeticData(count=50, seed=3)
    problems = data.read()["all"]
    assert problems == ArithmeticData(count=50, seed=3).read()["all"]  # the seed decides
    for problem in problems:
        numbers = [int(n) for n in final_number_all(problem.prompt)]
        answer = int(dict(problem.fields)["answer"])
        a, b = numbers
        assert answer in (a + b, a - b, a * b)
        assert answer >= 0


def final_number_all(text: str) -> list[str]:
    import re

    return re.findall(r"\d+", text)
