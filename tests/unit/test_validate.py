"""Bad configs fail before any model loads, with every problem listed at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ftexp.checks.config_check import check_heavy
from ftexp.errors import ConfigError
from tests.conftest import TINY, TINY_CSV, compose_cfg


def test_all_problems_are_listed_at_once() -> None:
    cfg = compose_cfg(
        [
            *TINY,
            "method=lora",
            "method.r=0",
            "method.dropout=1.5",
            "data.text_column=review",
            "optim.schedule=triangle",
            "data.val_fraction=0.6",
            "data.test_fraction=0.5",
        ]
    )
    with pytest.raises(ConfigError) as err:
        check_heavy(cfg)
    text = str(err.value)
    assert "method.r must be > 0, got 0" in text
    assert "method.dropout must be in [0, 1)" in text
    assert "column 'review' not found" in text
    assert str(TINY_CSV) in text
    assert "optim.schedule='triangle'" in text
    assert "sum below 1" in text
    assert len(err.value.problems) == 5


def test_typo_in_added_key_suggests_the_right_one() -> None:
    cfg = compose_cfg(
        [*TINY, "method=lora", "+method.rnak=4", "+trainer.max_epoch=3", "method.r=0"]
    )
    with pytest.raises(ConfigError) as err:
        check_heavy(cfg)
    assert "method.rnak is not a setting of ftexp.methods.lora.LoRA; did you mean method.r?" in str(
        err.value
    )
    assert "did you mean trainer.max_epochs?" in str(err.value)
    assert "method.r must be > 0" in str(err.value)  # values are checked despite the typo


def test_freeze_top_k_negative_and_lr_nonpositive() -> None:
    cfg = compose_cfg([*TINY, "method=freeze", "method.top_k=-1", "optim.lr=0"])
    with pytest.raises(ConfigError, match=r"method.top_k must be >= 0[\s\S]*optim.lr must be > 0"):
        check_heavy(cfg)


def test_missing_data_file_and_test_without_checkpoint() -> None:
    cfg = compose_cfg([*TINY, "data.path=/nonexistent/x.csv", "train=false"])
    with pytest.raises(ConfigError) as err:
        check_heavy(cfg)
    assert "/nonexistent/x.csv does not exist" in str(err.value)
    assert "needs ckpt_path" in str(err.value)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ftexp", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_cli_rejects_bad_values_before_loading_a_model(tmp_path: Path) -> None:
    done = _cli(
        *TINY, "method.r=-2", "data.label_column=stars", f"hydra.run.dir={tmp_path}", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "Invalid config (2 problem(s))" in done.stderr
    assert "method.r must be > 0" in done.stderr
    assert "column 'stars' not found" in done.stderr
    assert not (tmp_path / "config.yaml").exists()  # failed before the run started


def test_cli_unknown_group_option_lists_the_choices(tmp_path: Path) -> None:
    done = _cli("method=lorra", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert done.returncode == 2
    assert "'lorra' is not a method option; did you mean method=lora?" in done.stderr
    assert "lora" in done.stderr
    assert "full" in done.stderr


def test_method_that_cannot_serve_the_model_says_so_at_config_time() -> None:
    cfg = compose_cfg([*TINY, "model=tiny_llama", "model.family=t5", "method=adapter"])
    with pytest.raises(ConfigError, match=r"method=adapter cannot serve model family 't5'"):
        check_heavy(cfg)


def test_a_required_value_is_named_once_with_its_own_key() -> None:
    cfg = compose_cfg(["objective=rl", "data=review_prompts", "model=tiny_llama"])
    with pytest.raises(ConfigError) as err:
        check_heavy(cfg)
    assert "objective.reward.run_dir is required (it is ???)" in str(err.value)
    assert "objective.objective" not in str(err.value)


def test_a_value_left_from_a_replaced_target_says_to_replace_the_node() -> None:
    cfg = compose_cfg(
        [
            "objective=rl",
            "data=review_prompts",
            "model=tiny_llama",
            "objective.reward._target_=ftexp.rewards.ExactAnswer",
        ]
    )
    with pytest.raises(ConfigError) as err:
        check_heavy(cfg)
    message = str(err.value)
    assert "is not a setting of ftexp.rewards.ExactAnswer" in message
    assert (
        "'~objective.reward' '+objective.reward={_target_: ftexp.rewards.ExactAnswer}'" in message
    )
    fixed = compose_cfg(
        [
            "objective=rl",
            "data=arithmetic",  # prompts that carry the answer ExactAnswer reads
            "model=tiny_llama",
            "~objective.reward",
            "+objective.reward={_target_: ftexp.rewards.ExactAnswer}",
        ]
    )
    check_heavy(fixed)  # the advice composes and passes the checks
