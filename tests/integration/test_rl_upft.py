"""GRPO on a toy reward and UPFT's self-generated prefixes, on a tiny random Llama."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ftexp.checks.config_check import check_heavy
from ftexp.errors import ConfigError
from ftexp.objectives.rl.losses import group_advantages
from ftexp.rewards import CharacterReward
from ftexp.run.wiring import build, train
from tests.conftest import FIXTURES, compose_cfg

BASE = [
    "model=tiny_llama",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
    "callbacks=none",
]
TOY_RL = [  # the objective (rl, rloo) comes with each variant
    *BASE,
    "data=review_prompts",
    "data.artifact=null",
    "data.prompts=[hi, hello, hey, yo, ok, so, go, up, on, in]",
    "data.val_fraction=0.2",
    "data.test_fraction=0.2",
    "data.batch_size=2",
    "~objective.reward",
    "+objective.reward={_target_: ftexp.rewards.CharacterReward, character: e}",
    "objective.group_size=8",
    "objective.max_new_tokens=6",
    "objective.kl_beta=0.0",
    "method=full",
    "optim.lr=3e-2",
    "optim.warmup_ratio=0",
    "optim.schedule=constant",
]


def logged(run_dir: Path, key: str) -> list[float]:
    rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    return [float(r[key]) for r in rows if r.get(key)]


def test_group_advantages_are_standardised_per_prompt() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 5.0, 5.0, 7.0, 7.0])
    adv = group_advantages(rewards, 4)
    assert adv[:4].sum().item() == pytest.approx(0, abs=1e-5)
    assert adv[0] > 0 > adv[1]
    assert adv[4].item() == pytest.approx(-adv[6].item())


def test_toy_reward_counts_a_character() -> None:
    scores = CharacterReward("e")(prompts=["p"] * 3, completions=["eee", "a e", ""])
    assert scores == pytest.approx([1.0, 0.5, 0.0])


# each loss type, and RLOO's leave-one-out baseline, on the same toy problem
VARIANTS = {
    "grpo": ["objective=rl"],
    "dr_grpo": ["objective=rl", "objective.loss_type=dr_grpo", "objective.scale_rewards=false"],
    "dapo": ["objective=rl", "objective.loss_type=dapo", "objective.epsilon_high=0.28"],
    "gspo": ["objective=rl", "objective.loss_type=gspo"],
    "rloo": ["objective=rloo"],
}


# dr_grpo and gspo differ from grpo only in averaging (checked by hand in unit tests): slow suite
@pytest.mark.parametrize(
    "variant",
    [pytest.param(v, marks=pytest.mark.slow) if v in ("dr_grpo", "gspo") else v for v in VARIANTS],
)
def test_grpo_raises_a_toy_reward(variant: str, tmp_path: Path) -> None:
    train(compose_cfg([*VARIANTS[variant], *TOY_RL, "trainer.max_epochs=8"], tmp_path))
    rewards = logged(tmp_path, "train/reward")
    assert len(rewards) == 24  # 6 train prompts / 2 per batch x 8 epochs
    early, late = sum(rewards[:4]) / 4, sum(rewards[-4:]) / 4
    assert late > early + 0.2, rewards
    samples = [json.loads(x) for x in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert {s["stage"] for s in samples} >= {"train", "val", "test"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test/reward"] >= 0


def test_num_iterations_trains_each_sample_batch_again_off_policy(tmp_path: Path) -> None:
    options = ["objective=rl", "objective.num_iterations=2", "objective.samples_every=1"]
    train(compose_cfg([*options, *TOY_RL, "trainer.max_epochs=2"], tmp_path))
    clipped = logged(tmp_path, "train/clipped")
    assert len(clipped) == 12  # 3 batches x 2 iterations x 2 epochs: one optimiser step each
    fresh, again = clipped[0::2], clipped[1::2]
    assert fresh == [0.0] * 6  # sampled by the policy that trains on them: every ratio is 1
    assert max(again) > 0  # one step later the ratio has moved and the clip holds tokens back
    samples = [json.loads(x) for x in (tmp_path / "samples.jsonl").read_text().splitlines()]
    sampled = [s for s in samples if s["stage"] == "train"]
    assert len(sampled) == 6 * 2  # replies sampled on the first pass only (2 prompts each)


def test_rl_without_a_trained_classifier_fails_at_config_time(tmp_path: Path) -> None:
    cfg = compose_cfg(
        [*BASE, "objective=rl", "data=review_prompts", f"objective.reward.run_dir={tmp_path}"]
    )
    with pytest.raises(ConfigError, match="not a finished ftexp run"):
        check_heavy(cfg)


def test_upft_trains_on_short_self_generated_prefixes(tmp_path: Path) -> None:
    from ftexp.batch import IGNORE

    overrides = [
        *BASE,
        "objective=upft",
        "objective.prefix_tokens=4",
        "objective.full_fraction=0.25",
        "objective.max_new_tokens=12",
        "data=chat",
        "data.artifact=null",
        f"data.path={FIXTURES / 'chat_tiny.yml'}",
        "data.val_fraction=0.2",
        "data.test_fraction=0.2",
        "data.batch_size=4",
        "method=lora",
        "trainer.max_epochs=2",
    ]
    cfg = compose_cfg(overrides, tmp_path)
    module, datamodule = build(check_heavy(cfg))
    data = datamodule.data
    data.setup()
    references = {tuple(x["input_ids"]) for x in data.encoded["train"]}

    metrics = train(cfg)
    assert metrics["test/loss"] > 0

    module.configure_model()
    prompts = datamodule.train_prompts()
    examples = module.self_generated(prompts, data.processor)
    n_full = round(len(prompts) * 0.25)
    assert module.sampled == {"prefix": len(prompts) - n_full, "full": n_full}
    assert len(examples) == len(prompts)
    replies = [[t for t in x["labels"] if t != IGNORE] for x in examples]
    assert all(1 <= len(r) <= 4 for r in replies[: module.sampled["prefix"]])  # prefixes: k=4
    assert any(len(r) > 4 for r in replies[module.sampled["prefix"] :])  # whole replies
    assert not {tuple(x["input_ids"]) for x in examples} & references  # never the references


def test_conversations_become_rl_prompts_up_to_their_last_reply(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from ftexp.models.tiny import chat_tokenizer

    talk = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "two plus two"},
        {"role": "assistant", "content": "four"},
    ]
    records = [
        {"messages": [*talk[:3], {**talk[3], "content": f"q{i}"}, talk[4]]} for i in range(10)
    ]
    path = tmp_path / "talk.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    chat = [
        "data=chat_prompts",
        "data.artifact=null",
        f"data.path={path}",
        "data.val_fraction=0.2",
        "data.test_fraction=0.2",
        "data.batch_size=2",
    ]
    data = instantiate(compose_cfg([*BASE, "objective=rl", *chat]).data, _convert_="all")
    tokenizer = chat_tokenizer()
    data.connect(tokenizer)
    data.setup()
    prompt = data.encoded["train"][0]
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]  # no reply
    batch = data.collator(train=True)(data.encoded["train"][:2])
    assert batch["prompt_text"][0].startswith("q")  # the last user turn, for the rewards
    rendered = tokenizer.decode(batch["prompt_input_ids"][0])
    assert "four" not in rendered
    assert "hello" in rendered  # earlier turns stay as context
    toy = TOY_RL[TOY_RL.index("~objective.reward") :]
    train(compose_cfg([*BASE, "objective=rl", *chat, *toy, "trainer.max_epochs=1"], tmp_path))
    assert logged(tmp_path, "train/reward")
    with pytest.raises(ConfigError, match=r"reads the example fields \['answer'\]"):
        check_heavy(compose_cfg([*BASE, "objective=rloo", *chat]))  # ExactAnswer needs answers
