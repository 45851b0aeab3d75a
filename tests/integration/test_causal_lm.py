"""The causal-LM objective and the speed switches on a tiny random Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ftexp.checks.config_check import check_heavy
from ftexp.errors import ConfigError
from ftexp.run.wiring import train
from tests.conftest import build_module, compose_cfg

LM = [
    "objective=sft",
    "model=tiny_llama",
    "data=synthetic_lm",
    "data.seq_len=32",
    "data.train_samples=64",
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def lm_module(tmp_path: Path, *overrides: str) -> tuple[object, dict[str, torch.Tensor]]:
    """A configured CausalLMModule and one training batch."""
    module, data = build_module(compose_cfg([*LM, *overrides], tmp_path))
    return module, next(iter(data.train_dataloader()))


@pytest.mark.parametrize(
    ("model", "method"),
    [
        ("tiny_llama", "full"),
        ("tiny_llama", "lora"),
        ("tiny_llama", "qlora"),
        ("tiny_llama", "prompt"),
        ("tiny_gpt2", "full"),
        ("tiny_gpt2", "lora"),
    ],
)
def test_lm_loss_decreases_on_a_fixed_batch(model: str, method: str, tmp_path: Path) -> None:
    extra = ["method.modules_to_save=[]"] if "lora" in method else []
    module, batch = lm_module(tmp_path, f"model={model}", f"method={method}", *extra)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    losses = []
    for _ in range(4):
        loss = module(batch)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert losses[-1] < losses[0], losses


def test_lm_loss_ignores_masked_labels(tmp_path: Path) -> None:
    module, batch = lm_module(tmp_path, "method=full")
    module.model.eval()
    masked = dict(batch, labels=batch["labels"].clone())
    masked["labels"][:, : batch["labels"].shape[1] // 2] = -100
    with torch.no_grad():
        logits = module.model(input_ids=batch["input_ids"]).logits
        expected = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]),
            masked["labels"][:, 1:].reshape(-1),
            ignore_index=-100,
        )
        assert module(masked).item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_checkpointing_gives_the_same_gradients(tmp_path: Path) -> None:
    grads = []
    for checkpointing in ("false", "true"):
        module, batch = lm_module(
            tmp_path, "method=full", f"speed.gradient_checkpointing={checkpointing}"
        )
        module(batch).backward()
        grads.append({n: p.grad.clone() for n, p in module.model.named_parameters()})
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, msg=name)


@pytest.mark.parametrize(
    ("model", "method"),
    [
        ("tiny_llama", "full"),  # the head trains, tied to the input embeddings
        ("tiny_llama", "lora"),
        ("tiny_llama", "prompt"),  # virtual tokens in front of the batch's
        ("tiny_gpt2", "full"),
    ],
)
def test_the_chunked_loss_equals_the_models_own_loss_and_gradients(
    model: str, method: str, tmp_path: Path
) -> None:
    extra = ["method.modules_to_save=[]"] if method == "lora" else []
    results = []
    for chunked in ("true", "false"):
        torch.manual_seed(0)
        module, batch = lm_module(
            tmp_path, f"model={model}", f"method={method}", f"speed.chunked_loss={chunked}", *extra
        )
        module.model.eval()  # no dropout: both passes see the same network
        assert (module.chunked_head(module.model) is not None) == (chunked == "true")
        batch["labels"][:, :5] = -100  # a prompt that carries no loss
        loss = module(batch)
        loss.backward()
        grads = {
            n: p.grad.clone() for n, p in module.model.named_parameters() if p.grad is not None
        }
        results.append((loss.item(), grads))
    (chunked_loss, chunked_grads), (own_loss, own_grads) = results
    assert chunked_loss == pytest.approx(own_loss, rel=1e-5)
    assert chunked_grads.keys() == own_grads.keys()
    assert own_grads
    for name, grad in own_grads.items():
        torch.testing.assert_close(chunked_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_a_wrapped_head_keeps_the_models_own_loss(tmp_path: Path) -> None:
    module, _ = lm_module(
        tmp_path,
        "method=lora",
        "method.target_modules=[q_proj,v_proj,lm_head]",
        "method.modules_to_save=[]",
    )
    assert module.chunked_head(module.model) is None  # LoRA on the head: not a plain linear map
    module, _ = lm_module(tmp_path, "method=lora", "method.modules_to_save=[]")
    assert module.chunked_head(module.model) is not None


def test_lm_run_reports_loss_perplexity_and_throughput(tmp_path: Path) -> None:
    cfg = compose_cfg([*LM, "method=lora", "method.modules_to_save=[]"], tmp_path)
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test/ppl"] == pytest.approx(torch.tensor(metrics["test/loss"]).exp().item())
    assert metrics["best/val/loss"] == pytest.approx(metrics["val/loss"], rel=0.05)
    # 64 rows / batch 4 = 16 steps, 5 of them warm-up: 11 timed steps of 4 x 32 real tokens
    assert metrics["speed/timed_steps"] == 11
    tokens_per_sample = metrics["speed/train_tokens_per_s"] / metrics["speed/train_samples_per_s"]
    assert tokens_per_sample == pytest.approx(32)
    assert metrics["speed/mfu"] > 0
    assert (tmp_path / "model" / "adapter_model.safetensors").is_file()


def test_classifier_throughput_counts_real_tokens_only(tmp_path: Path) -> None:
    from tests.conftest import tiny_cfg

    train(tiny_cfg(tmp_path, "method=lora", "data.batch_size=4", "trainer.max_epochs=1"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    tokens_per_sample = metrics["speed/train_tokens_per_s"] / metrics["speed/train_samples_per_s"]
    assert 3 < tokens_per_sample < 128  # fixture snippets: real lengths, never the padded width


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["objective=sft", "model=tiny_bert", "data=synthetic_lm"], "load_causal_lm"),
        (["objective=mlm", "model=tiny_llama", "data=synthetic_lm"], "load_masked_lm"),
        (["speed.attn_implementation=fastest"], "attn_implementation"),
        # the data states these rules itself against the model's config (128 ids, 256 positions)
        (
            [*LM, "data.vocab_size=500"],
            r"data.vocab_size=500 exceeds the model's vocabulary of 128",
        ),
        ([*LM, "data.seq_len=512"], r"data.seq_len=512 exceeds the model's 256 position"),
    ],
)
def test_mismatched_objective_and_model_fail_before_loading(
    overrides: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        check_heavy(compose_cfg(overrides))
