"""A model folder that ships its own Python code is refused unless trust_remote_code is set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import BertConfig, BertForSequenceClassification

from ftexp.models.hf import HFModel

EVIL = """
from pathlib import Path
from transformers import BertConfig, BertForSequenceClassification
Path({marker!r}).write_text("remote code ran")

class EvilConfig(BertConfig):
    model_type = "evil-bert"

class EvilModel(BertForSequenceClassification):
    config_class = EvilConfig
"""


def folder_with_custom_code(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    config = BertConfig(
        vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    (folder / "evil.py").write_text(EVIL.format(marker=str(tmp_path / "EXECUTED")))
    meta = json.loads((folder / "config.json").read_text())
    meta["model_type"] = "evil-bert"  # unknown to transformers: only the folder's code can load it
    meta["auto_map"] = {
        "AutoConfig": "evil.EvilConfig",
        "AutoModelForSequenceClassification": "evil.EvilModel",
    }
    (folder / "config.json").write_text(json.dumps(meta))
    return folder


def test_custom_code_is_not_run_by_default(tmp_path: Path) -> None:
    folder = folder_with_custom_code(tmp_path)
    spec = HFModel(name_or_path=str(folder))
    assert spec.trust_remote_code is False
    with pytest.raises(ValueError, match="trust_remote_code"):
        spec.load_classifier(["neg", "pos"])
    assert not (tmp_path / "EXECUTED").exists()


def test_custom_code_runs_only_when_trusted(tmp_path: Path) -> None:
    folder = folder_with_custom_code(tmp_path)
    HFModel(name_or_path=str(folder), trust_remote_code=True).load_classifier(["neg", "pos"])
    assert (tmp_path / "EXECUTED").exists()  # the opt-in is real, so the default matters
