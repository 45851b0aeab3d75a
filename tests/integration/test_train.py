"""End-to-end runs on a tiny model with a real Lightning Trainer, per method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from ftexp.run.reload import load_run
from ftexp.run.wiring import train
from ftexp.serve.predict import predict
from tests.conftest import build_module, tiny_cfg
from tests.options import QLORA_WIDE, SHORT_RUN, saved_files, text_methods

GROWS_DURING_TRAINING = {"gradual_unfreeze"}  # trainable set at the end > at the start


@pytest.mark.parametrize("method", text_methods())
def test_train_writes_every_artifact_and_reloads(method: str, tmp_path: Path) -> None:
    cfg = tiny_cfg(tmp_path, f"method={method}", "trainer.max_epochs=2", *SHORT_RUN.get(method, []))
    metrics = train(cfg)

    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test/acc"] == pytest.approx(metrics["test/acc"])
    for key in ("test/acc", "test/f1", "test/auroc", "test/loss", "best/val/acc"):
        assert 0 <= saved[key] < 10, key
    assert 0 < saved["params/trainable"] <= saved["params/total"]
    assert "method:" in (tmp_path / "config.yaml").read_text()  # resolved config
    assert "${" not in (tmp_path / "config.yaml").read_text()
    assert 0 <= saved["test/top_class_share"] <= 1
    for figure in ("roc.png", "confusion.png"):
        assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG"

    files = {p.name for p in (tmp_path / "model").iterdir()}
    assert saved_files(method) <= files
    assert {"tokenizer.json", "labels.json"} <= files

    ckpts = sorted((tmp_path / "checkpoints").glob("*.ckpt"))
    assert any(p.name == "last.ckpt" for p in ckpts)
    assert len(ckpts) == 2
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    stored = sum(t.numel() for t in state.values())
    if method in GROWS_DURING_TRAINING:  # counted at its widest stage, not its first
        first_stage = build_module(cfg)[0].param_counts["params/trainable"]
        assert first_stage < saved["params/trainable"] <= stored
    else:
        assert stored == saved["params/trainable"]

    assert (tmp_path / "csv" / "metrics.csv").is_file()
    texts = ["a wonderful film with a superb cast", "dull, tedious and boring"]
    results = predict(str(tmp_path), texts)
    assert next(label for label, _ in results) in {"neg", "pos"}
    assert all(0.5 <= conf <= 1.0 for _, conf in results)


@pytest.mark.parametrize("method", text_methods())
def test_reloaded_model_gives_the_same_logits(method: str, tmp_path: Path) -> None:
    from ftexp.run.wiring import save_model

    cfg = tiny_cfg(tmp_path, f"method={method}", *(QLORA_WIDE if method == "qlora" else []))
    module, data = build_module(cfg)
    batch = next(iter(data.train_dataloader()))
    frozen = {
        n: p.detach().clone() for n, p in module.model.named_parameters() if not p.requires_grad
    }

    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-2)
    module.model.train()
    losses = []
    for _ in range(3):  # the first loss is the baseline, then 2 steps
        loss = torch.nn.functional.cross_entropy(module(batch), batch["label"])
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert losses[-1] < losses[0], losses

    for name, param in module.model.named_parameters():
        if name in frozen:
            assert torch.equal(param, frozen[name]), f"frozen {name} changed"

    module.model.eval()
    with torch.no_grad():
        expected = module(batch)
    save_model(module.model, module.method, data, tmp_path / "model")
    (tmp_path / "config.yaml").write_text(
        __import__("omegaconf").OmegaConf.to_yaml(cfg, resolve=True)
    )
    model, _, labels = load_run(tmp_path)
    with torch.no_grad():
        got = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert labels == ["neg", "pos"]
    torch.testing.assert_close(got, expected)


def test_loss_goes_down_over_a_real_run(tmp_path: Path) -> None:
    cfg = tiny_cfg(
        tmp_path,
        "method=full",
        "trainer.max_epochs=6",
        "optim.lr=3e-3",
        "callbacks.early_stopping=null",
    )
    train(cfg)
    rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    col = header.index("val/loss")
    val_losses = [float(r.split(",")[col]) for r in rows[1:] if r.split(",")[col]]
    assert len(val_losses) >= 6
    assert min(val_losses[-3:]) < val_losses[0]


def test_each_epoch_trains_on_a_new_order_of_the_batches(tmp_path: Path) -> None:
    """Lightning sets the epoch on ``batch_sampler.sampler``: the batch sampler must be reached."""
    import lightning as L

    seen: list[tuple[int, int]] = []

    class Recorder(L.Callback):
        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, idx: int) -> None:
            seen.append((trainer.current_epoch, int(batch["input_ids"].sum())))

    module, data = build_module(tiny_cfg(tmp_path, "method=full"))
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        callbacks=[Recorder()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=data)
    first = [s for e, s in seen if e == 0]
    second = [s for e, s in seen if e == 1]
    assert len(first) == len(second) > 1
    assert first != second  # reshuffled, not the first epoch's order again


def test_train_samples_caps_the_training_split_alone(tmp_path: Path) -> None:
    from hydra.utils import instantiate

    def sizes(*extra: str) -> dict[str, int]:
        data = instantiate(tiny_cfg(tmp_path, *extra).data, _convert_="all")
        data.load()
        return {name: len(split) for name, split in data.splits.items()}

    whole, capped = sizes(), sizes("data.train_samples=10")
    assert whole["train"] > 10
    assert capped == {**whole, "train": 10}  # val and test stay whole


def test_trimming_the_heap_after_each_step_leaves_the_run_as_it_was(tmp_path: Path) -> None:
    plain = train(tiny_cfg(tmp_path / "plain", "trainer.max_epochs=1"))
    trimmed = train(tiny_cfg(tmp_path / "trimmed", "trainer.max_epochs=1", "speed.trim_heap=true"))
    assert trimmed["test/loss"] == plain["test/loss"]  # memory handling only: the same numbers


def test_a_run_that_gives_freed_memory_back_trains(tmp_path: Path) -> None:
    from tests.conftest import run_ftexp

    # its own process: the allocator setting outlives the run
    done = run_ftexp("debug=smoke", "speed.give_back_memory=true", f"hydra.run.dir={tmp_path}")
    assert "each freed tensor goes back to the OS at once" in done.stdout + done.stderr
    assert json.loads((tmp_path / "metrics.json").read_text())["test/loss"] > 0
