"""Method x strategy x device combinations that cannot work are refused at config time."""

from __future__ import annotations

import pytest
import torch

from ftexp.checks.config_check import check_heavy
from ftexp.errors import ConfigError
from ftexp.utils.compat import strategy_name
from tests.conftest import TINY, compose_cfg


@pytest.mark.parametrize(
    ("trainer", "name"),
    [
        ("default", "auto"),
        ("ddp", "ddp"),
        ("fsdp", "fsdp"),
        ("deepspeed_zero2", "deepspeed_stage_2"),
        ("deepspeed_zero3", "deepspeed_stage_3"),
        ("deepspeed_zero3_offload", "deepspeed_stage_3"),
    ],
)
def test_strategy_names(trainer: str, name: str) -> None:
    assert strategy_name(compose_cfg([f"trainer={trainer}"]).trainer) == name


def test_qlora_with_zero3_is_refused_with_the_way_out() -> None:
    cfg = compose_cfg([*TINY, "method=qlora", "trainer=deepspeed_zero3"])
    with pytest.raises(ConfigError, match=r"QLoRA with trainer strategy deepspeed_stage_3.*ddp"):
        check_heavy(cfg)


@pytest.mark.parametrize(
    ("method", "name"),
    [("qlora", "QLoRA"), ("qlora8", "QLoRA"), ("qat", "QAT"), ("prompt", "PromptTuning"),
     ("prefix", "PrefixTuning"), ("ptuning_v2", "PrefixTuning"), ("ptuning", "PTuning")],
)  # fmt: skip
def test_methods_fsdp2_cannot_shard_are_refused(method: str, name: str) -> None:
    cfg = compose_cfg([*TINY, f"method={method}", "trainer=fsdp", "trainer.accelerator=cpu"])
    with pytest.raises(ConfigError, match=rf"{name} with trainer strategy fsdp.*trainer=ddp"):
        check_heavy(cfg)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="the CPU refusal needs a machine without CUDA"
)
def test_deepspeed_on_a_cpu_machine_is_refused() -> None:
    cfg = compose_cfg([*TINY, "method=lora", "trainer=deepspeed_zero2"])
    with pytest.raises(ConfigError, match="needs CUDA GPUs"):
        check_heavy(cfg)


def test_lora_with_ddp_on_cpu_is_fine() -> None:
    check_heavy(compose_cfg([*TINY, "method=lora", "trainer=ddp", "trainer.accelerator=cpu"]))


def test_added_row_rate_is_refused_where_it_cannot_apply() -> None:
    grown = [*TINY, "model.extend_vocab=from_data", "optim.new_rows_lr=1e-2"]
    check_heavy(compose_cfg([*grown, "trainer=ddp", "trainer.accelerator=cpu"]))
    cfg = compose_cfg([*grown, "trainer=fsdp", "trainer.accelerator=cpu"])
    with pytest.raises(ConfigError, match=r"new_rows_lr with trainer strategy fsdp.*ddp"):
        check_heavy(cfg)
    with pytest.raises(ConfigError, match=r"model\.extend_vocab adds no tokens"):
        check_heavy(compose_cfg([*TINY, "optim.new_rows_lr=1e-2"]))
