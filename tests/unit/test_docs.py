"""The docs stay true to the code: the config reference and the layout page are generated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import CONF

ROOT = Path(__file__).parents[2]


def test_the_config_pages_are_what_the_config_tree_gives() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "config_pages.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"run python tools/config_pages.py:\n{done.stdout}"


def test_the_layout_page_is_what_the_source_tree_gives() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "layout_page.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_every_config_group_has_a_row_in_the_overview_and_a_page() -> None:
    overview = (ROOT / "docs" / "config" / "index.md").read_text(encoding="utf-8")
    groups = {p.parent.relative_to(CONF).as_posix() for p in CONF.rglob("*.yaml")} - {"."}
    for group in groups - {"objective/weighting"}:  # documented on the objective row
        assert f"[`{group}`]" in overview, group
    for group in groups:
        page = ROOT / "docs" / "config" / f"{group.replace('/', '-')}.md"
        assert page.is_file(), group


def test_the_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for page in ("docs/getting-started.md", "docs/concepts.md", "docs/config/index.md"):
        assert f"]({page})" in readme
        assert (ROOT / page).is_file()
