"""The package's layout: a few root modules, layers that only import downwards, old names kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from import_cycles import LAYERS, layer_breaks  # noqa: E402


def test_an_import_of_a_layer_above_is_a_break_and_one_below_is_not() -> None:
    graph = {
        "ftexp.models.hf": {"ftexp.run.reload"},  # a model reading a saved run: upwards
        "ftexp.run.reload": {"ftexp.models.hf", "ftexp.errors"},
        "ftexp.errors": set(),
    }
    assert layer_breaks(graph) == [
        "layer break: ftexp.models.hf imports ftexp.run.reload, a layer above it"
    ]


def test_a_package_with_no_layer_is_named() -> None:
    assert layer_breaks({"ftexp.newthing.x": set()}) == [
        "ftexp.newthing has no place in LAYERS (tools/import_cycles.py)"
    ]


def test_the_root_holds_few_modules_and_every_package_has_a_layer() -> None:
    package = ROOT / "src" / "ftexp"
    root = sorted(p.stem for p in package.glob("*.py"))
    assert len(root) <= 8, root
    folders = {p.parent.name for p in package.glob("*/__init__.py")}
    assert {f"ftexp.{name}" for name in folders} <= set(LAYERS)


def test_the_old_command_names_still_run_their_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ftexp.predict", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "python -m ftexp.cli.predict <run_dir> INPUT" in done.stdout
