"""Real runs on the pretrained MiniLM and the Rotten Tomatoes artifact (fetched from PyPI once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftexp.run.wiring import train
from ftexp.serve.predict import predict
from tests.conftest import compose_cfg

QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def test_minilm_lora_on_a_sentiment_subset_learns(tmp_path: Path) -> None:
    cfg = compose_cfg(
        [
            *QUIET,
            "method=lora",
            "data.max_samples=480",
            "trainer.max_epochs=3",
            "trainer.val_check_interval=1.0",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    # 480 training snippets are enough to clear the 58% majority class by a wide margin
    assert metrics["test/acc"] >= 0.68, metrics
    assert metrics["test/auroc"] >= 0.75, metrics
    share = metrics["params/trainable"] / metrics["params/total"]
    assert 0.01 < share < 0.06  # LoRA r=16 on all linear layers + pooler + head
    results = predict(
        str(tmp_path), ["A moving, beautifully acted film.", "Tedious, clumsy, dull."]
    )
    assert [label for label, _ in results] == ["fresh", "rotten"]


@pytest.mark.slow
def test_default_run_reaches_the_accuracy_bar(tmp_path: Path) -> None:
    """`make run`: MiniLM + LoRA on the full split must reach >= 0.78 test accuracy."""
    metrics = train(compose_cfg(QUIET, tmp_path))
    assert metrics["test/acc"] >= 0.78, metrics
    assert json.loads((tmp_path / "metrics.json").read_text())["test/acc"] >= 0.78


def test_model_from_a_local_folder_loads_like_the_artifact() -> None:
    from ftexp.checks.config_check import check_heavy

    artifact = check_heavy(compose_cfg([])).model
    folder = artifact.location()
    local = check_heavy(compose_cfg([f"model.name_or_path={folder}"])).model
    assert local.location() == folder
    tokenizer = local.load_processor()
    assert tokenizer("a fine film")["input_ids"][0] == tokenizer.cls_token_id
    model = local.load_classifier(["rotten", "fresh"])
    assert model.config.id2label == {0: "rotten", 1: "fresh"}
    assert sum(p.numel() for p in model.parameters()) == 22_713_986


SAMPLE_PHOTOS = {  # scikit-image's sample photos (BSD): a cat and a cup of coffee
    "package": "scikit-image",
    "version": "0.26.0",
    "sha256": "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
    "member": "skimage/data",
}


@pytest.mark.slow
def test_efficientnet_lite0_converted_from_its_artifact_knows_imagenet() -> None:
    """The converted weights are the published ones: a cat and an espresso, as ImageNet says."""
    import torch
    from PIL import Image

    from ftexp.checks.config_check import check_heavy
    from ftexp.infra.artifacts import PypiArtifact

    spec = check_heavy(compose_cfg(["model=efficientnet_lite0", "data=fashion_mnist"])).model
    model = spec.load_image_classifier([str(i) for i in range(1000)])  # ImageNet's head kept
    processor = spec.load_processor()
    photos = PypiArtifact(**SAMPLE_PHOTOS).local_path()
    images = [Image.open(photos / f"{name}.png").convert("RGB") for name in ("chelsea", "coffee")]
    with torch.inference_mode():
        probs = model.eval()(**processor(images=images, return_tensors="pt")).logits.softmax(-1)
    top = probs.argmax(-1).tolist()
    assert top == [285, 967]  # ImageNet's "Egyptian cat" and "espresso"
    assert probs[0, 285] > 0.6
    assert probs[1, 967] > 0.8


@pytest.mark.slow
def test_the_chinese_encoder_reads_the_three_reviews_of_the_worked_example(
    tmp_path: Path,
) -> None:
    """`model=m3e_zh data=sentiment_zh method=full` on 3,000 reviews, one epoch."""
    cfg = compose_cfg([*QUIET, "experiment=compare_sentiment_zh", "method=full"], tmp_path)
    metrics = train(cfg)
    assert metrics["test/acc"] >= 0.80, metrics  # majority class 0.517
    reviews = [
        "这部电影太棒了,情节紧凑,演员表演到位。",
        "剧情平淡无奇,浪费了我两个小时的时间。",
        "虽然开头有点慢,但后面的发展非常精彩。",
    ]
    assert [label for label, _ in predict(str(tmp_path), reviews)] == ["正面", "负面", "正面"]


@pytest.mark.slow
def test_dinov2_small_converted_from_its_onnx_file_gives_features_a_probe_can_use(
    tmp_path: Path,
) -> None:
    """Every backbone tensor converts and gives the ONNX graph's features; LoRA learns on it."""
    import onnx
    import torch
    from transformers import Dinov2Model

    from ftexp.checks.config_check import check_heavy
    from ftexp.infra.artifacts import PypiArtifact
    from ftexp.models.dinov2 import TOLERANCE, feature_gap

    cfg = ["model=dinov2_small", "model.image_size=112", "data=fashion_mnist"]
    spec = check_heavy(compose_cfg(cfg)).model
    model, info = Dinov2Model.from_pretrained(spec.location(), output_loading_info=True)
    assert not any(info.values()), info
    graph = onnx.load(str(PypiArtifact(**spec.artifact).local_path()))
    assert feature_gap(model, graph) < 1e-4  # float32 on CPU: ~1.4e-5
    weight = model.encoder.layer[3].attention.q_proj.weight
    with torch.no_grad():
        weight.mul_(1.01)  # one matrix 1% off: the check the conversion runs must see it
    assert feature_gap(model, graph) > TOLERANCE
    run = [*QUIET, *cfg, "method=lora", "data.max_samples=300", "trainer.max_epochs=1"]
    metrics = train(compose_cfg(run, tmp_path))
    assert metrics["test/acc"] >= 0.3, metrics  # ten classes: chance is 0.1


@pytest.mark.slow
def test_the_ner_command_users_start_from_learns_entities(tmp_path: Path) -> None:
    """`objective=token_classify data=ner_en method=full` as documented: not every token O."""
    cfg = ["objective=token_classify", "data=ner_en", "method=full"]
    metrics = train(compose_cfg([*QUIET, *cfg], tmp_path))
    assert metrics["test/f1"] >= 0.15, metrics  # 0.000 before the head's rate was part of it


@pytest.mark.slow
def test_the_vision_command_users_start_from_learns(tmp_path: Path) -> None:
    """The CNN at the vision example's CPU budget, default method: far above chance (0.1)."""
    metrics = train(compose_cfg([*QUIET, "experiment=compare_fashion_cnn"], tmp_path))
    assert metrics["test/acc"] >= 0.5, metrics
