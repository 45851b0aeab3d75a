"""An SFT run read by the clients users have: EleutherAI's harness and ``transformers.pipeline``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftexp.run.wiring import train
from tests.conftest import compose_cfg, refused
from tests.integration.test_conversations import SFT
from tests.options import CHAT_FIXTURE


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("sft")
    overrides = [*SFT, *CHAT_FIXTURE, "method=lora", "save_model=true", "trainer.max_epochs=2"]
    train(compose_cfg(overrides, run))
    return run


def test_lm_eval_scores_the_held_out_replies_as_ftexp_does(
    sft_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ftexp.cli.evaluate import main

    main([str(sft_run), "--harness", "held-out"])
    assert "ftexp_test (" in capsys.readouterr().out
    report = json.loads((sft_run / "harness.json").read_text())
    harness, own = report["scores"]["lm_eval"], report["scores"]["ftexp"]
    assert report["examples"] >= 2
    assert harness["perplexity"] == pytest.approx(own["perplexity"], rel=1e-4)
    assert harness["acc"] == own["acc"]
    task = (sft_run / "harness" / "ftexp_test.jsonl").read_text().splitlines()
    assert len(task) == report["examples"]  # the harness read the task ftexp wrote


def test_the_merged_export_chats_in_a_text_generation_pipeline(sft_run: Path) -> None:
    from transformers import pipeline

    from ftexp.cli.evaluate import main

    if not (sft_run / "export-merged").is_dir():
        main([str(sft_run), "--harness", "held-out", "--limit", "1"])
    chat = pipeline("text-generation", model=str(sft_run / "export-merged"), device="cpu")
    out = chat([{"role": "user", "content": "hello"}], max_new_tokens=4, do_sample=False)
    turns = out[0]["generated_text"]
    assert [t["role"] for t in turns] == ["user", "assistant"]  # rendered with its template


def test_a_classifier_run_is_refused_with_the_commands_that_serve_it(tmp_path: Path) -> None:
    from tests.conftest import TINY

    run = tmp_path / "classify"
    train(compose_cfg([*TINY, "trainer.max_epochs=1"], run))
    stderr = refused(str(run), "--harness", "held-out", command="ftexp.cli.evaluate")
    assert "does not serve" in stderr
    assert "python -m ftexp.cli.predict" in stderr
