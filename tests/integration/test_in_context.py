"""objective=in_context: a causal LM classifies by prompting; nothing trains."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.conftest import TINY, build_module, run_ftexp, tiny_cfg

LLAMA = ["model=tiny_llama", "objective=in_context", "method=full"]


def test_the_shared_prompt_prefix_scores_as_the_whole_prompt_would(tmp_path: Path) -> None:
    module, _ = build_module(tiny_cfg(tmp_path, *LLAMA, "objective.shots=2"))
    module.demos = [("a good film", 1), ("a bad film", 0)]
    prefix, parts = module.prompt_parts(["fine", "not fine at all"])
    assert len(prefix) > 10  # instruction, two solved examples, the chat opening
    rows = [[*ids, 5, 6] for ids, _ in parts]
    with torch.inference_mode():
        cached = module._score(prefix, rows, [2, 2])
        whole = module._score([], [prefix + row for row in rows], [2, 2])
    torch.testing.assert_close(cached, whole, rtol=1e-4, atol=1e-4)


def test_contextual_calibration_subtracts_the_content_free_scores(tmp_path: Path) -> None:
    raw, _ = build_module(tiny_cfg(tmp_path / "raw", *LLAMA, "objective.calibrate=false"))
    calibrated, data = build_module(tiny_cfg(tmp_path / "cal", *LLAMA))
    batch = next(iter(data.test_dataloader()))
    with torch.inference_mode():
        scores = raw(batch)
        free = raw({"input_ids": raw.processor(["N/A"], return_tensors="pt")["input_ids"]})
        torch.testing.assert_close(calibrated(batch), scores - free, rtol=1e-4, atol=1e-4)
    assert scores.shape == (len(batch["label"]), 2)


def test_a_few_shot_run_tests_without_training_or_saving(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_ftexp(*TINY, *LLAMA, "objective.shots=4", f"hydra.run.dir={run}")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["params/trainable"] == 0
    assert "trainer/global_step" in metrics
    assert metrics["trainer/global_step"] == 0  # nothing trained
    assert metrics["memory/peak_rss_mb"] > 100  # sampled while testing: the run has a peak too
    assert 0 <= metrics["test/acc"] <= 1
    assert (run / "roc.png").is_file()
    assert not (run / "model").exists()


def test_label_words_given_in_class_order_are_the_words_prompted(tmp_path: Path) -> None:
    # a list is what a command line can write for non-ASCII class names (data=sentiment_zh)
    module, _ = build_module(tiny_cfg(tmp_path, *LLAMA, "objective.label_words=[bad,good]"))
    assert module.label_words() == ["bad", "good"]
    prefix, _ = module.prompt_parts(["fine"])
    assert "bad, good" in module.processor.decode(prefix)
