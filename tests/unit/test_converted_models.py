"""Weights shipped in another format: converted once into the cache, checked tensor by tensor."""

from __future__ import annotations

import hashlib
import math
import subprocess
from pathlib import Path

import pytest
import torch

from ftexp.infra.artifacts import ArtifactError, DebianArtifact
from ftexp.models.convert import PickleToSafetensors, converted
from ftexp.models.efficientnet_lite import FromEfficientNetPyTorch
from ftexp.models.efficientnet_lite_net import (
    Conv2dSame,
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
)
from ftexp.utils.params import layer_depths


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTEXP_CACHE", str(tmp_path / "cache"))


def lite0_in_their_names(seed: int) -> dict[str, torch.Tensor]:
    """A Lite0 state dict under other names, in the same order (as EfficientNet-PyTorch's is)."""
    torch.manual_seed(seed)
    ours = EfficientNetLiteForImageClassification(EfficientNetLiteConfig(num_labels=1000))
    tensors = list(ours.state_dict().values())
    names = [f"_layer{i}" for i in range(len(tensors) - 2)] + ["_fc.weight", "_fc.bias"]
    return dict(zip(names, tensors, strict=True))


def test_a_lite0_checkpoint_converts_in_order_and_loads_as_an_auto_model(tmp_path: Path) -> None:
    from transformers import AutoModelForImageClassification

    from ftexp.models.families import register_families

    theirs = lite0_in_their_names(seed=3)
    torch.save(theirs, tmp_path / "lite0.pth")
    folder = converted(tmp_path / "lite0.pth", FromEfficientNetPyTorch(), "lite0")
    assert {p.name for p in folder.iterdir()} >= {"config.json", "model.safetensors"}
    register_families()
    model = AutoModelForImageClassification.from_pretrained(folder)
    for ours, expected in zip(model.state_dict().values(), theirs.values(), strict=True):
        torch.testing.assert_close(ours, expected)
    # the second call finds the converted folder and converts nothing
    (tmp_path / "lite0.pth").unlink()
    assert converted(tmp_path / "lite0.pth", FromEfficientNetPyTorch(), "lite0") == folder


def test_a_checkpoint_of_another_shape_is_refused_naming_the_first_mismatch(
    tmp_path: Path,
) -> None:
    theirs = lite0_in_their_names(seed=0)
    theirs["_layer0"] = torch.zeros(16, 3, 3, 3)  # the stem has 32 filters
    torch.save(theirs, tmp_path / "other.pth")
    with pytest.raises(ArtifactError, match=r"_layer0 \(16, 3, 3, 3\) does not fit"):
        converted(tmp_path / "other.pth", FromEfficientNetPyTorch(), "other")
    assert not list((tmp_path / "cache" / "converted").iterdir())  # nothing half-written kept


def test_a_pickled_hf_folder_becomes_safetensors_with_the_same_tensors(tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32,
    )  # fmt: skip
    model = BertModel(config)
    model.save_pretrained(tmp_path / "bin")  # then made a pickled folder, as m3e-small ships
    (tmp_path / "bin" / "model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    folder = converted(tmp_path / "bin", PickleToSafetensors(), "bert")
    assert (folder / "model.safetensors").is_file()
    assert not (folder / "pytorch_model.bin").exists()
    reloaded = BertModel.from_pretrained(folder)
    original = BertModel.from_pretrained(tmp_path / "bin")
    for (name, a), b in zip(
        reloaded.state_dict().items(), original.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("size", [15, 16, 17])
def test_strided_convolutions_pad_as_tensorflow_same(size: int) -> None:
    conv = Conv2dSame(1, 1, 3, 2, bias=False)
    out = conv(torch.ones(1, 1, size, size))
    assert out.shape[-1] == math.ceil(size / 2)
    # SAME pads more after than before: with an even input the first row sees no padding
    torch.nn.init.ones_(conv.weight)
    corner = conv(torch.ones(1, 1, size, size))[0, 0, 0, 0]
    assert corner == (9 if size % 2 == 0 else 4)


def test_a_cnns_stem_lies_below_its_stages_and_its_head_above() -> None:
    model = EfficientNetLiteForImageClassification(EfficientNetLiteConfig(num_labels=3))
    depths = layer_depths(model)
    assert depths["efficientnet_lite.conv_stem.weight"] == -1
    assert depths["efficientnet_lite.blocks.0.0.conv_dw.weight"] == 0
    assert depths["efficientnet_lite.blocks.6.0.conv_pwl.weight"] == 6
    assert depths["efficientnet_lite.conv_head.weight"] == 7
    assert depths["classifier.weight"] == 7


def build_deb(folder: Path, package: str, version: str) -> Path:
    """A real Debian package holding ``usr/share/datasets/tiny/data.txt``."""
    root = folder / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: ftexp <ftexp@example.org>\nDescription: test data\n"
    )
    data = root / "usr" / "share" / "datasets" / "tiny"
    data.mkdir(parents=True)
    (data / "data.txt").write_text("hello\n")
    deb = folder / f"{package}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


def test_a_debian_artifact_is_verified_unpacked_and_only_its_member_kept(tmp_path: Path) -> None:
    deb = build_deb(tmp_path, "ftexp-tiny-data", "1.0-1")
    digest = hashlib.sha256(deb.read_bytes()).hexdigest()
    archives = tmp_path / "cache" / "archives"
    archives.mkdir(parents=True)
    deb.rename(archives / deb.name)  # as if apt-get download had fetched it
    artifact = DebianArtifact("ftexp-tiny-data", "1.0-1", digest, "usr/share/datasets/tiny")
    folder = artifact.local_path()
    assert (folder / "data.txt").read_text() == "hello\n"
    assert not (artifact.cache_dir / "DEBIAN").exists()
    wrong = DebianArtifact("ftexp-tiny-data", "1.0-1", "0" * 64, "usr/share/datasets/tiny")
    with pytest.raises(ArtifactError, match=r"could not download|sha256 mismatch"):
        wrong.local_path()  # the cached archive does not match: it is fetched, and refused
