"""Exports load with plain transformers / peft and give the run's own logits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ftexp.run.reload import load_run
from ftexp.run.wiring import train
from tests.conftest import compose_cfg, tiny_cfg

WIDE = ["model.hidden_size=64", "model.intermediate_size=128"]  # bitsandbytes needs >= 64


def _text_batch(processor: object) -> dict[str, torch.Tensor]:
    return dict(processor(["a fine film", "dull and long"], padding=True, return_tensors="pt"))  # type: ignore[operator]


@pytest.mark.parametrize(
    "method",
    [
        "lora",
        pytest.param("dora", marks=pytest.mark.slow),
        "ia3",
        "full",
        "qlora",
    ],  # dora: lora's merge
)
def test_merged_classifier_loads_with_plain_transformers_and_names_its_labels(
    method: str, tmp_path: Path
) -> None:
    from transformers import AutoModelForSequenceClassification, pipeline

    run = tmp_path / "run"
    train(
        tiny_cfg(
            run, f"method={method}", "trainer.max_epochs=1", *(WIDE if method == "qlora" else [])
        )
    )
    out = tmp_path / "merged"
    done = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.export", str(run), "--merged", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (out / "adapter_config.json").exists()
    plain = AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert plain.config.id2label == {0: "neg", 1: "pos"}
    model, processor, _ = load_run(run)
    batch = _text_batch(processor)
    with torch.inference_mode():
        tolerance = 5e-2 if method == "qlora" else 1e-5  # NF4 de-quantised vs quantised matmuls
        torch.testing.assert_close(
            plain(**batch).logits, model(**batch).logits, atol=tolerance, rtol=0
        )
    scores = pipeline("text-classification", model=str(out))(["a fine film"])
    assert scores[0]["label"] in {"neg", "pos"}  # real names, not LABEL_0


def test_merged_causal_lm_generates_with_plain_transformers(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.integration.test_lm_objectives import CHAT

    run = tmp_path / "run"
    train(
        compose_cfg([*CHAT, "method=lora", "trainer.max_epochs=1", "trainer.accelerator=cpu"], run)
    )
    out = tmp_path / "merged"
    from ftexp.serve.export import export_merged

    export_merged(run, out, dtype="bfloat16")
    plain = AutoModelForCausalLM.from_pretrained(out).eval()
    assert plain.dtype == torch.bfloat16
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer("hello", return_tensors="pt")["input_ids"]
    generated = plain.generate(ids, max_new_tokens=3, do_sample=False)
    assert generated.shape[1] > ids.shape[1]
    model, _, _ = load_run(run)
    with torch.inference_mode():
        torch.testing.assert_close(
            plain(ids).logits.float(),
            model(ids).logits,
            atol=5e-2,
            rtol=5e-2,  # bf16 rounding
        )


def test_adapter_export_names_a_portable_base_and_loads_with_peft(tmp_path: Path) -> None:
    from peft import PeftModel

    from ftexp.contract import SEQUENCE_CLASSIFICATION
    from ftexp.models.tiny import TinyBert
    from ftexp.serve.export import export_adapter

    run = tmp_path / "run"
    train(tiny_cfg(run, "method=lora", "trainer.max_epochs=1"))
    out = export_adapter(run, tmp_path / "adapter")
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "ftexp:tiny_bert"  # not this machine's path
    base = SEQUENCE_CLASSIFICATION.load(TinyBert(), ["neg", "pos"])
    plain = PeftModel.from_pretrained(base, out).eval()
    model, processor, _ = load_run(run)
    batch = _text_batch(processor)
    with torch.inference_mode():
        torch.testing.assert_close(plain(**batch).logits, model(**batch).logits)


def test_exports_that_cannot_be_made_are_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(tiny_cfg(run, "method=adapter", "trainer.max_epochs=1"))
    done = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.export", str(run), "--merged"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot be folded" in done.stderr
    assert "Traceback" not in done.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.export", str(tmp_path / "nope"), "--adapter"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert missing.returncode == 2
    assert "is not a finished ftexp run" in missing.stderr
