"""An ImageNet CNN through the same seams: a random EfficientNet-Lite on Fashion-MNIST files."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ftexp.errors import ConfigError
from tests.conftest import FIXTURES, compose_cfg
from tests.options import DATA

CNN = [
    "model=tiny_cnn",
    "data=fashion_mnist",
    *DATA["fashion_mnist"],
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]


def fixture_image(index: int = 0) -> np.ndarray:
    """One 28x28 grey image of the fixture's test split."""
    raw = gzip.decompress((FIXTURES / "fashion_tiny" / "t10k-images-idx3-ubyte.gz").read_bytes())
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 28, 28)[index]


def test_fashion_mnist_keeps_t10k_as_test_and_carves_val_out_of_train() -> None:
    from hydra.utils import instantiate

    data = instantiate(compose_cfg(CNN).data, _convert_="all")
    data.load()
    sizes = {k: len(v) for k, v in data.splits.items()}
    assert sizes["test"] == 40  # the whole t10k file
    assert sizes["val"] == 12  # 10% of the 120 training images
    assert sizes["train"] == 108
    assert data.class_names()[:5] == CLASSES
    keys = [{x[0] for x in data.splits[k]} for k in ("train", "val", "test")]
    assert not keys[0] & keys[1]
    assert not keys[0] & keys[2]


def test_a_file_that_is_not_idx_is_refused_naming_it(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from ftexp.errors import DataError

    for item in (FIXTURES / "fashion_tiny").iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" * 4))
    data = instantiate(compose_cfg([*CNN, f"data.path={tmp_path}"]).data, _convert_="all")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz.*not an IDX file"):
        data.load()


def test_a_folder_without_the_files_is_refused_at_config_time(tmp_path: Path) -> None:
    from ftexp.checks.config_check import check_light

    with pytest.raises(ConfigError, match="lacks train-images-idx3-ubyte"):
        check_light(compose_cfg([*CNN, f"data.path={tmp_path}"]))


@pytest.mark.parametrize("method", ["full", "linear_probe", "freeze", "gradual_unfreeze", "lora"])
def test_methods_train_the_cnn_and_reload_to_the_same_logits(method: str, tmp_path: Path) -> None:
    from ftexp.run.reload import load_run
    from ftexp.run.wiring import train

    extra = ["method.every=2"] if method == "gradual_unfreeze" else []
    cfg = compose_cfg([*CNN, f"method={method}", "trainer.max_epochs=1", *extra], tmp_path)
    metrics = train(cfg)
    assert metrics["trainer/global_step"] > 0
    model, processor, labels = load_run(tmp_path)
    assert labels[:5] == CLASSES
    batch = processor(images=[np.repeat(fixture_image()[..., None], 3, -1)], return_tensors="pt")
    with torch.inference_mode():
        first = model(**batch).logits
    again, _, _ = load_run(tmp_path)
    with torch.inference_mode():
        torch.testing.assert_close(again(**batch).logits, first)


def test_an_adapter_reloads_into_the_model_that_was_trained_frozen_norms_held(
    tmp_path: Path,
) -> None:
    """LoRA saves no batch-norm buffers, so frozen norms must not move their statistics."""
    from hydra.utils import instantiate

    from ftexp.run.reload import load_run
    from ftexp.run.wiring import train

    cfg = compose_cfg([*CNN, "method=lora", "optim.lr=1e-2", "trainer.max_epochs=2"], tmp_path)
    metrics = train(cfg)
    model, processor, _ = load_run(tmp_path)
    data = instantiate(cfg.data, _convert_="all")
    data.connect(processor)
    data.load()
    data.setup()
    batch = data.collator(train=False)(data.encoded["test"])
    with torch.inference_mode():
        loss = torch.nn.functional.cross_entropy(
            model(batch["pixel_values"]).logits, batch["label"]
        )
    assert float(loss) == pytest.approx(metrics["test/loss"], abs=1e-4)


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("prompt", "soft-prompt methods"),
        ("prefix", "soft-prompt methods"),
        ("ia3", "method=ia3 takes its default targets"),
        ("adapter", "cannot serve model family 'efficientnet_lite'"),
        ("vpt", "method=vpt needs a vision transformer"),
    ],
)
def test_methods_that_cannot_serve_a_cnn_are_refused_before_weights_load(
    method: str, message: str
) -> None:
    from ftexp.checks.config_check import check_light

    with pytest.raises(ConfigError, match=message):
        check_light(compose_cfg([*CNN, f"method={method}"]))


def test_lora_adapts_the_cnns_pointwise_convolutions() -> None:
    from hydra.utils import instantiate

    from ftexp.contract import IMAGE_CLASSIFICATION

    cfg = compose_cfg([*CNN, "method=lora"])
    model = instantiate(cfg.model, _convert_="all").load_image_classifier(
        [str(i) for i in range(10)]
    )
    wrapped = instantiate(cfg.method, _convert_="all").apply(model, IMAGE_CLASSIFICATION)
    adapted = {n.rsplit(".", 1)[-1] for n, m in wrapped.named_modules() if hasattr(m, "lora_A")}
    assert adapted == {"conv_pw", "conv_pwl", "conv_head"}
    trainable = {n for n, p in wrapped.named_parameters() if p.requires_grad}
    assert any("classifier" in n for n in trainable)
    assert not any("conv_dw" in n or "bn" in n for n in trainable)


def test_predict_and_a_merged_export_that_transformers_pipeline_reads_without_ftexp(
    tmp_path: Path,
) -> None:
    from PIL import Image

    from ftexp.run.wiring import train

    run = tmp_path / "run"
    train(compose_cfg([*CNN, "method=lora", "trainer.max_epochs=1"], run))
    Image.fromarray(fixture_image()).save(tmp_path / "coat.png")
    done = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.predict", str(run), str(tmp_path / "coat.png")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    label, confidence, _ = done.stdout.strip().splitlines()[-1].split("\t")
    assert label in [*CLASSES, "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    exported = tmp_path / "merged"
    done = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.export", str(run), "--merged", "--out", str(exported)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    read = (
        "import sys, json\n"
        "from transformers import pipeline\n"
        f"p = pipeline('image-classification', model={str(exported)!r}, trust_remote_code=True)\n"
        f"out = p({str(tmp_path / 'coat.png')!r}, top_k=1)[0]\n"
        "assert not any(m.startswith('ftexp') for m in sys.modules)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", read],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["label"] == label
    assert answer["score"] == pytest.approx(float(confidence), abs=2e-3)


@pytest.fixture(scope="module")
def tiny_dinov2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer DINOv2 saved as a Hugging Face folder with DINOv2's image processor."""
    from transformers import BitImageProcessorPil, Dinov2Config, Dinov2Model

    folder = tmp_path_factory.mktemp("dinov2")
    torch.manual_seed(0)
    config = Dinov2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, patch_size=4, image_size=16
    )
    Dinov2Model(config).save_pretrained(folder)
    BitImageProcessorPil(
        size={"shortest_edge": 20}, crop_size={"height": 16, "width": 16}
    ).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("method", ["linear_probe", "adapter", "vpt method.deep=true"])
def test_a_dinov2_folder_trains_at_the_image_size_asked_for(
    method: str, tiny_dinov2: Path, tmp_path: Path
) -> None:
    from hydra.utils import instantiate

    from ftexp.run.reload import load_run
    from ftexp.run.wiring import train

    vit = [a for a in CNN if not a.startswith("model=")]
    model = ["model=hf", f"model.name_or_path={tiny_dinov2}", "model.image_size=8"]
    chosen = f"method={method}".split()  # an option, and its settings where given
    cfg = compose_cfg([*vit, *model, *chosen, "trainer.max_epochs=1"], tmp_path)
    processor = instantiate(cfg.model, _convert_="all").load_processor()
    image = np.repeat(fixture_image()[..., None], 3, -1)
    assert processor(images=[image], return_tensors="pt")["pixel_values"].shape[-2:] == (8, 8)
    metrics = train(cfg)
    assert metrics["trainer/global_step"] > 0
    reloaded, processor, labels = load_run(tmp_path)
    assert labels[:5] == CLASSES
    with torch.inference_mode():
        logits = reloaded(**processor(images=[image], return_tensors="pt")).logits
    assert logits.shape == (1, 10)
    if "deep" in method:  # DINOv2 keeps its blocks under encoder.layer: the second one's prompts
        assert reloaded.visual_prompts.deeper.shape[0] == 1


def test_a_models_notice_is_printed_and_kept_in_the_run_log(
    tiny_dinov2: Path, tmp_path: Path
) -> None:
    from tests.conftest import run_ftexp

    vit = [a for a in CNN if not a.startswith("model=")]
    notice = "research use only"
    done = run_ftexp(
        *vit,
        "model=hf",
        f"model.name_or_path={tiny_dinov2}",
        f"model.notice={notice}",
        "method=linear_probe",
        "trainer.fast_dev_run=true",
        "~logger",
        f"hydra.run.dir={tmp_path}",
    )
    assert f"[ftexp] notice: {notice}" in done.stdout + done.stderr
    assert f"notice: {notice}" in (tmp_path / "__main__.log").read_text()


def test_animal_mnist_reads_arrays_only_and_splits_every_class(tmp_path: Path) -> None:
    import os
    import pickle

    from hydra.utils import instantiate

    from ftexp.errors import DataError

    animals = ["data=animal_mnist", *DATA["animal_mnist"]]
    data = instantiate(compose_cfg([*CNN, *animals]).data, _convert_="all")
    data.load()
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 48, "val": 6, "test": 6}
    assert data.class_names()[:3] == ["Bear", "Bird", "Cat"]
    assert {y for _, y in data.splits["train"]} == set(range(10))

    class Shell:  # a pickle that would run a command when loaded
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("touch pwned",))

    for item in (FIXTURES / "animal_tiny").iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    (tmp_path / "animal_data_version_3.gz").write_bytes(gzip.compress(pickle.dumps(Shell())))
    hostile = instantiate(compose_cfg([*CNN, *animals, f"data.path={tmp_path}"]).data)
    with pytest.raises(DataError, match=r"not a gzipped numpy array .*system"):
        hostile.load()
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()
