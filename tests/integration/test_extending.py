"""What a new objective, data option and model family take, measured by adding them.

``tests/fixtures/extension`` is a user's own extension outside the package: a ``conf/``
folder (found through ``FTEXP_CONF``) and a Python package on the path. It adds
``objective=label_smoothed`` (one YAML, a light spec, a module), ``data=counted_words`` (one
YAML, one data class) and ``model=tiny_distilbert`` (one YAML, one model spec), and no file
of ftexp changes. The run below combines all three with a packaged method; the refusals show
that the contract knows them before anything loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, run_ftexp

EXTENSION = FIXTURES / "extension"
ENV = {
    "FTEXP_CONF": str(EXTENSION / "conf"),
    "PYTHONPATH": os.pathsep.join([str(EXTENSION), os.environ.get("PYTHONPATH", "")]),
}
NEW = ["model=tiny_distilbert", "data=counted_words", "objective=label_smoothed"]
FAST = ["trainer.accelerator=cpu", "trainer.enable_progress_bar=false", "~logger"]


def test_the_files_each_new_option_took() -> None:
    files = sorted(
        p.relative_to(EXTENSION).as_posix()
        for p in EXTENSION.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"
    )
    assert files == [
        "conf/data/counted_words.yaml",
        "conf/model/tiny_distilbert.yaml",
        "conf/objective/label_smoothed.yaml",
        "my_ext/counted_words.py",  # data option: 1 YAML + 1 file
        "my_ext/smoothed.py",  # objective: 1 YAML + its light spec + its module
        "my_ext/smoothed_module.py",
        "my_ext/tiny_distilbert.py",  # model family: 1 YAML + 1 file
    ]


def test_a_new_objective_data_option_and_model_family_train_and_reload(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [*NEW, "method=lora", "trainer.max_epochs=3", *FAST, f"hydra.run.dir={run}"]
    run_ftexp(*args, cwd=tmp_path, env=ENV)
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["test/acc"] <= 1
    assert 0 < metrics["params/trainable"] < metrics["params/total"]  # LoRA found its layers
    answer = subprocess.run(
        [sys.executable, "-m", "ftexp.cli.predict", str(run), "good good good film"],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.split("\t")[0] in {"bad", "good"}  # reloaded through the new spec


def test_the_contract_knows_the_new_options_before_anything_loads(tmp_path: Path) -> None:
    def refused(*overrides: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ftexp", *overrides, *FAST],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, **ENV},
            check=False,
        )
        assert done.returncode == 2, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        return done.stderr

    # the new data option is offered to a classifier whose data does not fit
    assert "counted_words" in refused("objective=classify", "data=preference")
    # the new model family serves sequence classification only
    assert "model=tiny_distilbert (TinyDistilBert) cannot" in refused(
        "objective=sft", "data=chat", "model=tiny_distilbert"
    )
    # the new objective's own settings are checked like a packaged one's
    assert "objective.smoothing must be in [0, 1)" in refused(*NEW, "objective.smoothing=1.5")
