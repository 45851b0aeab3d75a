"""Write ``docs/layout.md``: every package and module of ``src/ftexp``, by layer, from the tree.

Run: ``python tools/layout_page.py`` (``make docs`` runs it; ``--check`` only reports a stale
page, and CI and a test run that). The layers are ``tools/import_cycles.py``'s ``LAYERS``, top
first; each package and module is described by the first line of its own docstring, so the
page cannot name a module that is gone or miss one that was added.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from import_cycles import LAYERS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ftexp"
PAGE = ROOT / "docs" / "layout.md"

INTRO = """\
# Layout

Generated from `src/ftexp/` by `tools/layout_page.py` (CI checks it is current). The package is
in layers, top first: a module imports its own package and the layers below it, never one
above (`tools/import_cycles.py` fails CI otherwise, deferred and type-only imports included).
Each line is the first line of the module's own docstring.
"""

OUTSIDE = """\
## Beside the package

```
src/hydra_plugins/   ./conf on Hydra's search path; the resuming Optuna sweeper
conf/                your configs (e.g. experiment/), found before the packaged ones
sweeps/              W&B sweep files (Hydra grid / Optuna: the `sweep` group)
bench/               make bench: ftexp against HF Trainer + PEFT, TRL and a bare loop
tools/               import_cycles.py (no cycles, the layers), config_pages.py (docs/config/),
                     layout_page.py (this page)
tests/               unit/ integration/ fixtures/ cluster/ (slurm_up.sh), options.py (the tiny
                     partners and fixtures of every option, read by every test that needs one)
docs/                this site (mkdocs.yml at the root)
```
"""

RULES = """\
## Rules the layout keeps

- **Layers, no cycles.** The order above is `LAYERS` in `tools/import_cycles.py`; a new
  package or root module takes a place in it or CI names it.
- **Light before heavy.** Specs (methods, objectives' `spec.py`, data options, model specs,
  `parts.py`, `contract.py`, `batch.py`, `checks/`) import no torch at module level, so the
  light check refuses bad input in about a second.
- **Models know nothing of methods.** What a method needs of a model family (where each
  block's attention and FFN outputs are projected, which layers hold a CNN's weights, where a
  vision transformer's token sequence comes out) is one `Family` entry in
  `models/families.py`, read through `family_of` / `model_family`.
- **Objectives know nothing of PEFT**; a method never holds loss code.
- **Old names keep working.** A module that moved answers to its old name (`ftexp.MOVED`):
  saved run dirs, `conf/` overlays and `python -m ftexp.predict` written before a move still
  run.
"""


def summary(path: Path) -> str:
    """The first line of a module's docstring (a package's: its ``__init__.py``'s)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else "(no docstring)"


def modules_of(folder: Path) -> list[Path]:
    """A package's modules, its subpackages' included, ``__init__.py`` files left out."""
    return sorted(p for p in folder.rglob("*.py") if p.name != "__init__.py")


def section(layer: str) -> list[str]:
    """The lines of one layer: a root module, or a package with each of its modules."""
    name = layer.removeprefix("ftexp").lstrip(".")
    if not name:
        return [f"- `ftexp/__init__.py`: {summary(PACKAGE / '__init__.py')}"]
    folder, module = PACKAGE / name, PACKAGE / f"{name}.py"
    if module.is_file():
        return [f"- `{name}.py`: {summary(module)}"]
    lines = [f"- **`{name}/`**: {summary(folder / '__init__.py')}"]
    for path in modules_of(folder):
        relative = path.relative_to(folder).as_posix()
        lines.append(f"    - `{relative}`: {summary(path)}")
    return lines


def page() -> str:
    """The whole page."""
    lines = [INTRO, "## The package, top layer first", ""]
    for layer in reversed([layer for layer in LAYERS if layer.startswith("ftexp")]):
        lines += section(layer)
    counts = [
        f"{len(modules_of(PACKAGE / layer.removeprefix('ftexp.')))} in "
        f"`{layer.removeprefix('ftexp.')}/`"
        for layer in LAYERS
        if (PACKAGE / layer.removeprefix("ftexp.")).is_dir() and layer != "ftexp"
    ]
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    lines += [
        "",
        f"{len(root)} modules at the root ({', '.join(f'`{n}`' for n in root)}); modules per "
        f"package: {', '.join(counts)}.",
        "",
        OUTSIDE,
        RULES,
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    """Write the page (``--check``: only say whether it is stale; exit 1 if it is)."""
    text = page()
    current = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
    if text == current:
        return 0
    if "--check" in sys.argv[1:]:
        print(f"stale: {PAGE.relative_to(ROOT)}; run python tools/layout_page.py")
        return 1
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote: {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
