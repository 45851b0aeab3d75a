"""What adding an option to the package takes, measured by adding a throwaway one of each kind.

A copy of the project gets a new method, objective, data option and model family inside
``src/ftexp``; the generated pages are regenerated, and the tests that cover every option
(the option tables, the config pages, the layout page and layers, the objective homes) run in
the copy against it. The files each addition needed are counted and must be what
``docs/extending.md`` states.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

ROOT = Path(__file__).parents[2]
EXTENSION = FIXTURES / "extension"
COVERING_TESTS = [
    "tests/unit/test_options.py",
    "tests/unit/test_docs.py",
    "tests/unit/test_layout.py",
    "tests/unit/test_objective_homes.py",
    "tests/unit/test_configs.py",
    # the new objective trains on the new data (a smoke step), and the data splits disjointly
    "tests/integration/test_matrix.py::"
    "test_each_objective_and_data_pair_trains_or_is_refused_at_config_time"
    "[label_smoothed-counted_words]",
    "tests/integration/test_matrix.py::"
    "test_every_data_option_keeps_test_disjoint_from_val_and_train[counted_words]",
]


def _copy_project(to: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "site", "outputs")
    for part in (
        "src",
        "tools",
        "docs",
        "tests",
        "pyproject.toml",
        "mkdocs.yml",
        "README.md",
        "Makefile",
    ):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, to / part, ignore=ignore)
        else:
            shutil.copy2(source, to / part)
    return to


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _from_extension(name: str, **renames: str) -> str:
    text = (EXTENSION / name).read_text(encoding="utf-8")
    for old, new in renames.items():
        text = text.replace(old, new)
    return text


def _additions(project: Path) -> dict[str, dict[str, str]]:
    """Each kind of addition: the files its author writes, by path in the project."""
    bitfit = (project / "src/ftexp/methods/bitfit.py").read_text(encoding="utf-8")
    return {
        "a method": {
            "src/ftexp/conf/method/norms_only.yaml": (
                "# python -m ftexp method=norms_only   only the LayerNorm weights (and the head)\n"
                "_target_: ftexp.methods.norms_only.NormsOnly\nlr: 1e-3\nalso_train: []\n"
            ),
            "src/ftexp/methods/norms_only.py": bitfit.replace("class BitFit", "class NormsOnly")
            .replace('"""BitFit: train only the bias terms', '"""Norms only: train only the norms')
            .replace('name.endswith(".bias")', '"norm" in name.lower()'),
        },
        "an objective": {
            "src/ftexp/conf/objective/label_smoothed.yaml": _from_extension(
                "conf/objective/label_smoothed.yaml",
                **{"my_ext.smoothed": "ftexp.objectives.label_smoothed"},
            ),
            "src/ftexp/objectives/label_smoothed/__init__.py": (
                '"""``objective=label_smoothed``: classification with label smoothing."""\n\n'
                "from ftexp.objectives.label_smoothed.spec import LabelSmoothed\n\n"
                '__all__ = ["LabelSmoothed"]\n'
            ),
            "src/ftexp/objectives/label_smoothed/spec.py": _from_extension(
                "my_ext/smoothed.py",
                **{"my_ext.smoothed_module": "ftexp.objectives.label_smoothed.module"},
            ),
            "src/ftexp/objectives/label_smoothed/module.py": _from_extension(
                "my_ext/smoothed_module.py"
            ),
        },
        "a data option": {
            "src/ftexp/conf/data/counted_words.yaml": _from_extension(
                "conf/data/counted_words.yaml",
                **{"my_ext.counted_words": "ftexp.data.counted_words"},
            ),
            "src/ftexp/data/counted_words.py": _from_extension("my_ext/counted_words.py"),
        },
        "a model family": {
            "src/ftexp/conf/model/tiny_distilbert.yaml": _from_extension(
                "conf/model/tiny_distilbert.yaml",
                **{"my_ext.tiny_distilbert": "ftexp.models.tiny_distilbert"},
            ),
            "src/ftexp/models/tiny_distilbert.py": _from_extension("my_ext/tiny_distilbert.py"),
        },
    }


# the rows the option tables need (tests/options.py), by kind of addition
TABLE_ROWS = {
    "an objective": [
        ("OBJECTIVE = {\n", 'OBJECTIVE = {\n    "label_smoothed": ["model=tiny_bert"],\n'),
        ("OBJECTIVE_DATA = {\n", 'OBJECTIVE_DATA = {\n    "label_smoothed": "local",\n'),
    ],
    "a data option": [("DATA = {\n", 'DATA = {\n    "counted_words": ["data.count=60"],\n')],
}


def _changed(before: Path, after: Path) -> set[str]:
    """The files that differ between two copies (added, removed or edited)."""

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }

    old, new = files(before), files(after)
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def _stated_costs() -> dict[str, tuple[int, int, int]]:
    """The table of ``docs/extending.md``: (files written, files edited, pages regenerated)."""
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| (a method|an objective|a data option|a model family) \|"
        r" (\d+) \| (\d+) \| (\d+) \|",
        text,
        re.M,
    )
    return {kind: (int(a), int(b), int(c)) for kind, a, b, c in rows}


@pytest.mark.slow
def test_each_kind_of_addition_costs_what_the_docs_say(tmp_path: Path) -> None:
    pristine = _copy_project(tmp_path / "before")
    project = _copy_project(tmp_path / "after")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project)])}
    measured: dict[str, tuple[int, int, int]] = {}
    for kind, files in _additions(project).items():
        step = tmp_path / f"step-{len(measured)}"
        shutil.copytree(project, step, ignore=shutil.ignore_patterns("__pycache__"))
        _write(project, files)
        options = project / "tests" / "options.py"
        text = options.read_text(encoding="utf-8")
        for old, new in TABLE_ROWS.get(kind, []):
            text = text.replace(old, new, 1)
        options.write_text(text, encoding="utf-8")
        for tool in ("config_pages.py", "layout_page.py"):
            subprocess.run([sys.executable, str(project / "tools" / tool)], check=True, env=env)
        changed = _changed(step, project)
        written = {name for name in changed if name in files}
        generated = {name for name in changed if name.startswith("docs/")}
        edited = changed - written - generated
        measured[kind] = (len(written), len(edited), len(generated))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *COVERING_TESTS],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    for option in ("norms_only]", "label_smoothed]", "counted_words]", "tiny_distilbert]"):
        assert f"{option} PASSED" in done.stdout, option  # the covering tests ran on it
    lint = subprocess.run(
        [sys.executable, str(project / "tools" / "import_cycles.py")],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    assert _changed(pristine, project) >= {"docs/layout.md", "tests/options.py"}
    assert measured == _stated_costs(), measured
