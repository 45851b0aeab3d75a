"""NER and Chinese sentiment through the same seams: token classification, vocabulary growth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import FIXTURES, build_module, compose_cfg
from tests.options import DATA, text_methods

QUIET = [
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]
NER = [
    "model=tiny_bert",
    "objective=token_classify",
    "data=ner_en",
    *DATA["ner_en"],
    *QUIET,
]
ZH_SENTIMENT = [
    "model=tiny_bert",
    "data=sentiment_zh",
    *DATA["sentiment_zh"],
    "data.batch_size=8",
    *QUIET,
]
WIDE = ["model.hidden_size=64", "model.intermediate_size=128"]  # bitsandbytes needs >= 64


def cli(*args: str, module: str = "ftexp") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_token_classification_learns_entities_and_predict_prints_them(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cli(
        *NER,
        "method=full",
        *WIDE,
        "optim.lr=1e-3",
        "data.batch_size=8",
        "trainer.max_epochs=25",
        "callbacks=none",
        "model.dropout=0.0",
        f"hydra.run.dir={run}",
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test/f1"] > 0.6, metrics  # 6 sentence templates, 16 entity strings
    assert {"test/f1_PER", "test/f1_LOC", "test/f1_ORG", "test/precision"} <= set(metrics)
    out = cli(str(run), "alice visited paris last week", module="ftexp.cli.predict").stdout
    lines = out.strip().splitlines()
    assert lines[0] == "# alice visited paris last week"
    found = {tuple(line.split("\t")[:2]) for line in lines[1:]}
    assert found & {("alice", "PER"), ("paris", "LOC")}, lines


@pytest.mark.parametrize("method", text_methods())
def test_every_method_trains_a_token_classifier_and_reloads(method: str, tmp_path: Path) -> None:
    from ftexp.run.wiring import train
    from ftexp.serve.predict import find_entities

    wide = WIDE if method.startswith("qlora") else []
    cfg = compose_cfg([*NER, f"method={method}", *wide, "trainer.fast_dev_run=true"], tmp_path)
    metrics = train(cfg)
    assert metrics["trainer/global_step"] == 1
    assert 0 <= metrics["test/f1"] <= 1
    (entities,) = find_entities(str(tmp_path), ["bob met carol smith in rome"])
    assert all(kind in {"PER", "LOC", "ORG"} for _, kind, _ in entities)


@pytest.mark.parametrize(
    "method", ["lora", "adapter", "prompt", "freeze", "full", "gradual_unfreeze"]
)
def test_added_tokens_train_and_reload_with_the_model_or_adapter(
    method: str, tmp_path: Path
) -> None:

    from ftexp.models.vocab import ROWS_FILE
    from ftexp.run.reload import load_run
    from ftexp.run.wiring import save_model

    cfg = compose_cfg(
        [*ZH_SENTIMENT, f"method={method}", "model.extend_vocab=from_data", "optim.lr=1e-2"],
        tmp_path,
    )
    module, data = build_module(cfg)
    vocabulary = len(data.data.processor)
    first = vocabulary - module.new_tokens
    assert module.new_tokens > 20  # the fixture's characters, none of which the tiny vocab knows
    weight = module.model.get_input_embeddings().weight
    before = weight.detach().clone()
    assert before.shape[0] == vocabulary
    others = {id(p): p.numel() for p in module.model.parameters() if p.requires_grad}
    del others[id(weight)]
    trains = before.numel() if method == "full" else module.new_tokens * before.shape[1]
    assert module.param_counts["params/trainable"] == sum(others.values()) + trains
    _fit_steps(module, data, 4)
    after = module.model.get_input_embeddings().weight.detach()
    assert not torch.equal(after[first:], before[first:])  # the new rows learn
    if method != "full":  # the method keeps the pretrained rows frozen
        torch.testing.assert_close(after[:first], before[:first], rtol=0, atol=0)
    save_model(module.model, module.method, data, tmp_path / "model", module.first_new_row)
    if module.method.saves_adapter:  # the added rows beside it, never the whole matrix
        saved = [f for f in (tmp_path / "model").glob("*.safetensors") if f.name != ROWS_FILE]
        assert saved
        assert all(vocabulary not in _leading_sizes(f) for f in saved)
    (tmp_path / "config.yaml").write_text(json.dumps(_plain(cfg)))
    model, tokenizer, labels = load_run(tmp_path)
    assert labels == ["负面", "正面"]
    batch = tokenizer(["这部电影太棒了", "服务很差"], padding=True, return_tensors="pt")
    assert tokenizer.unk_token_id not in batch["input_ids"][0, 1:-1].tolist()
    module.model.eval()
    with torch.inference_mode():
        torch.testing.assert_close(model(**batch).logits, module.model(**batch).logits)


def test_gradual_unfreezing_opens_the_pretrained_rows_with_the_embeddings(tmp_path: Path) -> None:
    from ftexp.utils.params import count_parameters, trained_from_row, transformer_blocks

    stages = ["method.unfreeze_embeddings=true", "method.unit=steps", "method.every=1"]
    cfg = compose_cfg(
        [*ZH_SENTIMENT, "method=gradual_unfreeze", *stages, "model.extend_vocab=from_data"],
        tmp_path,
    )
    module, data = build_module(cfg)
    first = module.first_new_row
    weight = module.model.get_input_embeddings().weight
    before = weight.detach().clone()
    blocks = len(transformer_blocks(module.model))
    _fit_steps(module, data, blocks + 3)  # stage blocks + 1 (step blocks + 1) opens embeddings
    after = weight.detach()
    assert not torch.equal(after[first:], before[first:])
    assert not torch.equal(after[:first], before[:first])  # the pretrained rows train too now
    assert trained_from_row(weight) is None
    trainable = module.param_counts["params/trainable"]
    assert trainable == count_parameters(module.model)[0] > weight.numel()


@pytest.mark.parametrize("method", ["full", "lora"])
def test_head_and_added_rows_train_at_their_own_rates(method: str, tmp_path: Path) -> None:

    moved = {}
    for scale in (1, 25):  # the added rows at the rate of the rest, then at 25x it
        cfg = compose_cfg(
            [
                *ZH_SENTIMENT, f"method={method}", "model.extend_vocab=from_data",
                "optim.lr=1e-3", "optim.head_lr_scale=10", f"optim.new_rows_lr={scale * 1e-3}",
            ],
            tmp_path / str(scale),
        )  # fmt: skip
        module, data = build_module(cfg)
        first = len(data.data.processor) - module.new_tokens
        before = module.model.get_input_embeddings().weight.detach().clone()
        trainer = _fit_steps(module, data, 1)
        moved[scale] = module.model.get_input_embeddings().weight.detach() - before
        trained = [(n, p) for n, p in module.model.named_parameters() if p.requires_grad]
        head = {id(p) for n, p in trained if ".classifier." in f".{n}"}
        rates = {
            id(p): group["initial_lr"]
            for group in trainer.optimizers[0].param_groups
            for p in group["params"]
        }
        assert head
        assert all(rates[i] == pytest.approx(1e-2) for i in head)
        others = [r for i, r in rates.items() if i not in head]
        assert others
        assert all(r == pytest.approx(1e-3) for r in others)
    torch.testing.assert_close(moved[25][:first], moved[1][:first], rtol=0, atol=1e-5)
    assert moved[1][first:].abs().max() > 0
    torch.testing.assert_close(moved[25][first:], 25 * moved[1][first:], rtol=1e-3, atol=1e-4)


def _fit_steps(module: object, data: object, steps: int) -> Any:
    """Train ``module`` for ``steps`` optimiser steps with a real, seeded Trainer.

    With the method's callbacks, as a run has them (gradual unfreezing sets its stage there).
    """
    import lightning as L

    L.seed_everything(0)
    trainer = L.Trainer(
        max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
        callbacks=module.method.callbacks(),  # type: ignore[attr-defined]
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(module, datamodule=data)  # type: ignore[arg-type]
    return trainer


def _leading_sizes(path: Path) -> set[int]:
    """The first dimension of every tensor in a safetensors file."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return {handle.get_slice(key).get_shape()[0] for key in handle.keys()}  # noqa: SIM118 (not iterable)


def _plain(cfg: object) -> object:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[call-overload]


def test_chinese_sentiment_predicts_class_names_from_the_class_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cli(
        *ZH_SENTIMENT,
        "method=lora",
        "model.extend_vocab=from_data",
        "trainer.max_epochs=2",
        f"hydra.run.dir={run}",
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data/dropped_conflicting"] == 1
    assert metrics["params/added_tokens"] > 20
    out = cli(str(run), "这部电影太棒了", "服务太差了", module="ftexp.cli.predict").stdout
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [r[2] for r in rows] == ["这部电影太棒了", "服务太差了"]
    assert all(r[0] in {"正面", "负面"} and 0.5 <= float(r[1]) <= 1 for r in rows)


def test_masked_lm_on_text_the_tokenizer_cannot_read_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "ftexp", "model=tiny_bert", "objective=mlm",
            "data=sentiment_zh_text", "data.source.artifact=null",
            f"data.source.path={FIXTURES / 'sentiment_zh'}", *QUIET,
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "nothing to predict" in done.stderr
    assert "model.extend_vocab=from_data" in done.stderr
    assert "Traceback" not in done.stderr
