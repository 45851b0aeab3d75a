"""SFT (chat template, packing), reward, DPO and masked-LM objectives on tiny random models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from ftexp.checks.config_check import check_heavy
from ftexp.data.chat import ChatData, pack, read_conversations
from ftexp.data.collate import ChatCollator, mask_tokens
from ftexp.models.tiny import char_tokenizer, chat_tokenizer
from ftexp.objectives.preference.module import sequence_logps
from ftexp.run.wiring import train
from tests.conftest import FIXTURES, TINY_CSV, build_module, compose_cfg
from tests.options import DATA

CHAT = ["objective=sft", "model=tiny_llama", "data=chat", *DATA["chat"]]
PREFS = [
    "data=preference",
    *DATA["preference"],
    "data.prompts=[{label: pos, prompt: 'say something nice'},"
    " {label: neg, prompt: 'say something mean'}]",
    "data.batch_size=4",
]
# masked-LM on the fixture's text column, tiny BERT
MLM_TEXT = ["objective=mlm", "model=tiny_bert", "data=domain_text", *DATA["domain_text"]]
TRAINER = [
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def build(tmp_path: Path, overrides: list[str]) -> tuple[Any, Any]:
    """Configured module (weights loaded) and its data module (set up)."""
    return build_module(compose_cfg([*overrides, *TRAINER], tmp_path))


def fit_steps(
    module: object, batch: dict[str, torch.Tensor], loss_of: object, steps: int = 4
) -> list[float]:
    params = [p for p in module.parameters() if p.requires_grad]  # type: ignore[attr-defined]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = loss_of(batch)  # type: ignore[operator]
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return losses


def test_chatterbot_yaml_becomes_consecutive_turn_pairs() -> None:
    pairs = read_conversations(FIXTURES / "chat_tiny.yml")
    assert pairs[:3] == [
        ("hello", "hi there"),
        ("hi there", "how are you"),
        ("how are you", "fine thanks"),
    ]
    assert len(pairs) == 11


def test_only_response_tokens_carry_loss() -> None:
    tokenizer = chat_tokenizer()
    data = ChatData(path="chat.jsonl")
    data.connect(tokenizer)
    example = data.encode((("user", "hello"), ("assistant", "hi there")))
    assert example is not None
    scored = [i for i, y in zip(example["input_ids"], example["labels"], strict=True) if y != -100]
    assert tokenizer.decode(scored, skip_special_tokens=True).replace(" ", "") == "hithere"
    assert tokenizer.decode(scored[-1:]) == "[SEP]"  # the end-of-turn token is learned too


def test_packing_never_leaks_across_examples(tmp_path: Path) -> None:
    module, data = build(tmp_path, [*CHAT, "method=full"])
    examples = data.data.encoded["train"][:3]
    rows = pack(examples, width=256)
    assert len(rows) == 1  # all three fit one row
    packed = ChatCollator(0, packed=True)(rows)
    assert "attention_mask" not in packed
    assert packed["seq_lengths"].tolist() == [len(x["input_ids"]) for x in examples]
    module.model.train()  # the training path: dropout is 0 in this config, caching is not
    with torch.no_grad():
        logits = module.outputs(packed).logits
        start = 0
        for example in examples:
            n = len(example["input_ids"])
            alone = module.outputs({"input_ids": torch.tensor([example["input_ids"]])}).logits
            torch.testing.assert_close(logits[0, start : start + n], alone[0])
            start += n
    boundaries = torch.cumsum(packed["seq_lengths"], 0)[:-1]
    assert (packed["labels"][0, boundaries] == -100).all()  # no loss across a boundary


@pytest.mark.parametrize("method", ["full", "lora"])
def test_sft_loss_decreases_on_a_fixed_batch(method: str, tmp_path: Path) -> None:
    module, data = build(tmp_path, [*CHAT, f"method={method}", "data.packing=true"])
    batch = next(iter(data.train_dataloader()))
    losses = fit_steps(module, batch, module)
    assert losses[-1] < losses[0], losses


def test_sft_run_saves_and_generates(tmp_path: Path) -> None:
    from ftexp.run.reload import load_run
    from ftexp.serve.generate import generate_replies

    metrics = train(compose_cfg([*CHAT, *TRAINER, "method=lora", "trainer.max_epochs=1"], tmp_path))
    assert metrics["test/ppl"] > 1
    model, tokenizer, labels = load_run(tmp_path)
    assert labels == []
    replies = generate_replies(model, tokenizer, ["hello"], max_new_tokens=5)
    assert isinstance(replies[0], str)


def test_sequence_logps_sum_only_labelled_next_tokens() -> None:
    logits = torch.zeros(1, 3, 4)  # uniform: every token has log-prob -log 4
    labels = torch.tensor([[-100, 2, -100]])
    assert sequence_logps(logits, labels).item() == pytest.approx(-torch.log(torch.tensor(4.0)))


@pytest.mark.parametrize("method", ["lora", "full"])
def test_dpo_starts_at_log2_and_learns(method: str, tmp_path: Path) -> None:
    module, data = build(
        tmp_path, [*PREFS, "objective=dpo", "model=tiny_llama", f"method={method}"]
    )
    uses_copy = method == "full"
    assert (module.reference_model is not None) == uses_copy
    batch = next(iter(data.train_dataloader()))
    module.model.eval()  # no dropout: policy == reference exactly at the start
    losses = fit_steps(module, batch, lambda b: module.step(b, "train"))
    assert losses[0] == pytest.approx(0.693147, abs=1e-4)  # log 2: policy == reference
    assert losses[-1] < losses[0], losses
    with torch.no_grad():  # the reference itself never moved
        both = {
            k: torch.cat([batch[f"chosen_{k}"], batch[f"rejected_{k}"]])
            for k in ("input_ids", "attention_mask", "labels")
        }
        first = module.reference_logps(both)
        assert torch.equal(first, module.reference_logps(both))


@pytest.mark.parametrize("model", ["tiny_bert", "tiny_llama"])
def test_reward_model_learns_to_rank(model: str, tmp_path: Path) -> None:
    module, data = build(tmp_path, [*PREFS, "objective=reward", f"model={model}", "method=full"])
    batch = next(iter(data.train_dataloader()))
    losses = fit_steps(module, batch, lambda b: module.step(b, "train"), steps=6)
    assert losses[-1] < losses[0], losses


def test_preference_pairs_follow_the_prompt(tmp_path: Path) -> None:
    import csv

    label_of = {r["text"]: r["label"] for r in csv.DictReader(TINY_CSV.open())}
    _, data = build(tmp_path, [*PREFS, "objective=reward", "model=tiny_bert", "method=full"])
    wanted = {"say something nice": ("pos", "neg"), "say something mean": ("neg", "pos")}
    triples = [t for split in data.data.splits.values() for t in split]
    for prompt, chosen, rejected in triples:
        [(role, asked)] = prompt  # one user turn
        assert role == "user"
        assert (label_of[chosen], label_of[rejected]) == wanted[asked]
    assert {p[0][1] for p, _, _ in triples} == set(wanted)
    texts = [t for _, c, r in triples for t in (c, r)]
    assert len(texts) == len(set(texts))  # each review used once


def test_masking_picks_15_percent_of_real_tokens() -> None:
    tokenizer = char_tokenizer()
    ids = torch.tensor(
        tokenizer(
            ["the quick brown fox jumps over the lazy dog" * 20], truncation=True, max_length=512
        )["input_ids"]
    )
    inputs, labels = mask_tokens(ids, tokenizer, 0.15, torch.Generator().manual_seed(0))
    picked = labels != -100
    assert 0.12 < picked.float().mean().item() < 0.18
    assert not picked[0, 0]
    assert not picked[0, -1]
    assert (inputs[picked] == tokenizer.mask_token_id).float().mean().item() == pytest.approx(
        0.8, abs=0.08
    )
    assert torch.equal(inputs[~picked], ids[~picked])


def test_mlm_run_then_classifier_starts_from_it(tmp_path: Path) -> None:
    mlm_dir = tmp_path / "mlm"
    text = [*MLM_TEXT, "data.max_samples=null", "method=full", "trainer.max_epochs=1"]
    metrics = train(compose_cfg([*text, *TRAINER], mlm_dir))
    assert metrics["test/loss"] > 0
    saved = json.loads((mlm_dir / "metrics.json").read_text())
    assert "best/val/loss" in saved

    from tests.conftest import TINY

    cfg = compose_cfg([*TINY, "method=full", f"model.init_from={mlm_dir}"], tmp_path / "cls")
    parts = check_heavy(cfg)
    classifier = parts.model.load_classifier(["neg", "pos"])
    from transformers import BertForMaskedLM

    adapted = BertForMaskedLM.from_pretrained(mlm_dir / "model")
    torch.testing.assert_close(
        classifier.bert.encoder.layer[0].attention.self.query.weight,
        adapted.bert.encoder.layer[0].attention.self.query.weight,
    )


def test_init_from_an_adapter_run_is_refused_at_config_time(tmp_path: Path) -> None:
    from ftexp.errors import ConfigError
    from tests.conftest import TINY

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "adapter_config.json").write_text("{}")
    with pytest.raises(ConfigError, match="method=full"):
        check_heavy(compose_cfg([*TINY, f"model.init_from={tmp_path}"]))


def test_mlm_loss_decreases_on_a_fixed_batch(tmp_path: Path) -> None:
    module, data = build(tmp_path, [*MLM_TEXT, "method=full"])
    batch = next(iter(data.val_dataloader()))  # fixed masks
    assert (batch["mlm_labels"] != -100).any()
    losses = fit_steps(module, batch, module)
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("method", ["full", "lora"])
def test_mlm_loss_on_masked_rows_equals_the_full_vocabulary_loss(
    tmp_path: Path, method: str
) -> None:
    module, data = build(tmp_path, [*MLM_TEXT, f"method={method}"])
    batch = next(iter(data.val_dataloader()))
    module.eval()  # no dropout: both forwards see the same network
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    full_vocabulary = module.model(**inputs, labels=batch["mlm_labels"])  # the model's own loss
    assert full_vocabulary.logits.shape[:2] == batch["input_ids"].shape
    torch.testing.assert_close(module(batch), full_vocabulary.loss)
