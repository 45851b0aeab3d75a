"""Real runs on the pretrained MiniLM and the Rotten Tomatoes artifact (fetched from PyPI once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftexp.predict import predict
from ftexp.run import train
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
    from ftexp.utils.config_check import check_heavy

    artifact = check_heavy(compose_cfg([])).model
    folder = artifact.location()
    local = check_heavy(compose_cfg([f"model.name_or_path={folder}"])).model
    assert local.location() == folder
    tokenizer = local.load_processor()
    assert tokenizer("a fine film")["input_ids"][0] == tokenizer.cls_token_id
    model = local.load_classifier(["rotten", "fresh"])
    assert model.config.id2label == {0: "rotten", 1: "fresh"}
    assert sum(p.numel() for p in model.parameters()) == 22_713_986
