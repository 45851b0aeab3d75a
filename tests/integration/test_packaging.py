"""A non-editable install (`pip install .`) ships its configs and runs outside the repo."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_built_wheel_runs_from_anywhere(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(wheels.glob("ftexp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "ftexp/conf/train.yaml" in names
    assert "ftexp/conf/method/lora.yaml" in names
    assert "hydra_plugins/ftexp_sweepers/resumable_optuna.py" in names  # sweep=lora_optuna

    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "d.csv").write_text((ROOT / "tests/fixtures/sentiment_tiny.csv").read_text())
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", "import ftexp, sys; print(ftexp.__file__)"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith(str(site))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ftexp",
            "debug=smoke",
            "data=local",
            "data.path=d.csv",
            "trainer.max_epochs=1",
        ],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((elsewhere / "outputs").glob("*/*/metrics.json"))
