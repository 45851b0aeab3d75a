"""A second modality through the same seams: image classification on the bundled digits."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ftexp.data.digits import bundled_digits
from tests.conftest import compose_cfg

VISION = [
    "model=tiny_vit",
    "data=digits",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def test_digits_split_is_seeded_deduplicated_and_disjoint() -> None:
    from hydra.utils import instantiate

    data = instantiate(compose_cfg(VISION).data, _convert_="all")
    data.load()
    sizes = {k: len(v) for k, v in data.splits.items()}
    assert sum(sizes.values()) <= 1797
    assert sizes["val"] == sizes["test"] == round(sum(sizes.values()) * 0.1)
    keys = [{x[0] for x in data.splits[k]} for k in ("train", "val", "test")]
    assert not keys[0] & keys[1]
    assert not keys[0] & keys[2]
    assert not keys[1] & keys[2]
    assert {y for _, y in data.splits["train"]} == set(range(10))


@pytest.mark.parametrize("method", ["full", "freeze", "lora", "adapter", "vpt"])
def test_methods_train_a_vit_on_digits_and_reload_to_the_same_logits(
    method: str, tmp_path: Path
) -> None:
    from ftexp.run.reload import load_run
    from ftexp.run.wiring import train

    cfg = compose_cfg([*VISION, f"method={method}", "trainer.max_epochs=1"], tmp_path)
    metrics = train(cfg)
    assert metrics["trainer/global_step"] > 0
    assert 0 <= metrics["test/acc"] <= 1
    model, processor, labels = load_run(tmp_path)
    assert labels == [str(d) for d in range(10)]
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    images[1, 2:6, 3:5] = 255
    batch = processor(images=list(images), return_tensors="pt")
    with torch.inference_mode():
        first = model(**batch).logits
    again, _, _ = load_run(tmp_path)
    with torch.inference_mode():
        torch.testing.assert_close(again(**batch).logits, first)


def test_lora_on_digits_learns_and_predict_reads_image_files(tmp_path: Path) -> None:
    from PIL import Image

    from ftexp.run.wiring import train

    run = tmp_path / "run"
    cfg = compose_cfg([*VISION, "method=lora", "optim.lr=3e-3", "trainer.max_epochs=4"], run)
    metrics = train(cfg)
    assert metrics["test/acc"] > 0.3  # chance is 0.1
    source = bundled_digits()
    assert source is not None
    first = gzip.decompress(source.read_bytes()).decode().splitlines()[0].split(",")
    pixels = np.clip(np.array([int(v) for v in first[:64]]).reshape(8, 8) * 16, 0, 255)
    Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "digit.png")
    done = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.predict", str(run), str(tmp_path / "digit.png")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    label, confidence, path = done.stdout.strip().splitlines()[-1].split("\t")
    assert label in [str(d) for d in range(10)]
    assert 0 < float(confidence) <= 1
    assert path.endswith("digit.png")
    assert json.loads((run / "metrics.json").read_text())["test/acc"] == metrics["test/acc"]


def test_visual_prompts_join_the_patch_sequence_and_alone_train_with_the_head() -> None:
    from hydra.utils import instantiate

    from ftexp.contract import IMAGE_CLASSIFICATION

    cfg = compose_cfg([*VISION, "method=vpt", "method.num_tokens=3"])
    model = instantiate(cfg.model, _convert_="all").load_image_classifier(["a", "b"])
    pixels = torch.zeros(2, 3, 8, 8)
    plain = model.vit(pixels).last_hidden_state.shape[1]
    prompted = instantiate(cfg.method, _convert_="all").apply(model, IMAGE_CLASSIFICATION)
    assert prompted.vit(pixels).last_hidden_state.shape[1] == plain + 3
    trainable = {n for n, p in prompted.named_parameters() if p.requires_grad}
    assert trainable == {"visual_prompts.prompts", "classifier.weight", "classifier.bias"}


def test_deep_visual_prompts_give_every_block_its_own_tokens_and_reload(tmp_path: Path) -> None:
    from hydra.utils import instantiate
    from safetensors.torch import load_file

    from ftexp.contract import IMAGE_CLASSIFICATION
    from ftexp.run.reload import load_run
    from ftexp.run.wiring import train

    deep = [*VISION, "method=vpt", "method.num_tokens=3", "method.deep=true"]
    cfg = compose_cfg(deep)
    model = instantiate(cfg.model, _convert_="all").load_image_classifier(["a", "b"])
    pixels = torch.rand(2, 3, 8, 8)
    plain = model.vit(pixels).last_hidden_state.shape[1]
    prompted = instantiate(cfg.method, _convert_="all").apply(model, IMAGE_CLASSIFICATION)
    blocks = model.config.num_hidden_layers
    prompts = prompted.visual_prompts
    assert prompts.deeper.shape == (blocks - 1, 3, model.config.hidden_size)
    assert prompted.vit(pixels).last_hidden_state.shape[1] == plain + 3  # replaced, not added
    (grad,) = torch.autograd.grad(prompted(pixel_values=pixels).logits.sum(), prompts.deeper)
    assert all(grad[b].abs().sum() > 0 for b in range(blocks - 1))  # every block reads its own
    trainable = {n for n, p in prompted.named_parameters() if p.requires_grad}
    assert trainable == {
        "visual_prompts.prompts",
        "visual_prompts.deeper",
        "classifier.weight",
        "classifier.bias",
    }

    train(compose_cfg([*deep, "trainer.max_epochs=1"], tmp_path))
    saved = load_file(tmp_path / "model" / "visual_prompts.safetensors")
    reloaded, _, _ = load_run(tmp_path)
    assert torch.equal(reloaded.visual_prompts.deeper, saved["visual_prompts.deeper"])


def test_visual_prompts_are_refused_for_a_text_model_before_weights_load() -> None:
    from ftexp.checks.config_check import check_light
    from ftexp.errors import ConfigError
    from tests.conftest import TINY

    with pytest.raises(ConfigError, match="method=vpt inserts tokens into a vision transformer"):
        check_light(compose_cfg([*TINY, "method=vpt"]))
