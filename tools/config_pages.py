"""Write ``docs/config/<group>.md``: every option of every config group, from the config tree.

Run: ``python tools/config_pages.py`` (``make docs`` runs it first; a test checks that the
committed pages are what it writes, so the reference never drifts from ``src/ftexp/conf``).
Each option is shown as shipped: its YAML with its comments (the first says the command that
uses it and what the option is for).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "src" / "ftexp" / "conf"
PAGES = ROOT / "docs" / "config"


def groups() -> list[Path]:
    """Every folder of the config tree that holds options (nested groups too)."""
    return sorted({path.parent for path in CONF.rglob("*.yaml") if path.parent != CONF})


def page(folder: Path) -> str:
    """The Markdown page of one config group."""
    group = folder.relative_to(CONF).as_posix()
    options = sorted(folder.glob("*.yaml"))
    out = [
        f"# `{group}`",
        "",
        "Generated from `src/ftexp/conf/" + group + "/` by `tools/config_pages.py`; pick an "
        f"option with `{group}=<option>`. Options: "
        + ", ".join(f"`{path.stem}`" for path in options)
        + ".",
        "",
    ]
    for path in options:
        text = path.read_text(encoding="utf-8")
        out += [f"## `{path.stem}`", "", "```yaml", text.rstrip("\n"), "```", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def pages() -> dict[Path, str]:
    """Every group's page, by the path it is written to."""
    return {PAGES / f"{page_name(folder)}.md": page(folder) for folder in groups()}


def page_name(folder: Path) -> str:
    """``objective/weighting`` -> ``objective-weighting``: one flat folder of pages."""
    return folder.relative_to(CONF).as_posix().replace("/", "-")


def main() -> int:
    """Write the pages (``--check``: only report pages that differ; exit 1 if any)."""
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in pages().items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(("stale: " if check else "wrote: ") + str(path.relative_to(ROOT)))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
