"""Fail when modules under ``src/`` import each other in a cycle, or a layer imports one above it.

Run: ``python tools/import_cycles.py`` (CI runs it in ``make lint``). Reads the source with
``ast`` only, so it needs no installed package. Every ``import`` statement counts, including
those inside functions and under ``TYPE_CHECKING``: a deferred import hides a cycle from Python,
not from the reader.

The layers (``LAYERS``, lowest first) are ftexp's packages and root modules: a module may import
its own package and any layer below, never one above. A new package or root module gets a
place in the list, or this check fails and names it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    """The dotted name of a source file under ``src/``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> set[str]:
    """The project modules that ``path`` imports.

    A name imported from a package counts as its submodule when one exists, else as the package.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


# lowest first; a layer may import those before it. ``ftexp`` is the package's own __init__.
LAYERS: tuple[str, ...] = (
    "ftexp",  # the moved-module names (imports nothing of ftexp)
    "ftexp.conf",  # the packaged config groups (YAML)
    "ftexp.errors",
    "ftexp.batch",
    "ftexp.utils",
    "ftexp.infra",  # artifacts, cluster, sweeps, trackers, console
    "ftexp.callbacks",
    "ftexp.memory",
    "ftexp.speed",
    "ftexp.optim",
    "ftexp.metrics",
    "ftexp.models",
    "ftexp.contract",  # the objective / data / model contract
    "ftexp.data",
    "ftexp.methods",
    "ftexp.objectives",
    "ftexp.parts",
    "ftexp.checks",  # the config checks, over Parts
    "ftexp.run",  # one run's wiring, and a saved run
    "ftexp.rewards",  # may load a finished run (ClassifierReward)
    "ftexp.serve",
    "ftexp.study",
    "ftexp.cli",
    "ftexp.__main__",
    "hydra_plugins",
)


def layer_of(module: str) -> str:
    """The layer a module belongs to: its top-level package or root module under ``ftexp``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "ftexp" else parts[0]


def layer_breaks(graph: dict[str, set[str]]) -> list[str]:
    """A line for each import of a layer above the importer's, and each module of no layer."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    found = sorted({layer_of(m) for m in graph} - rank.keys())
    breaks = [f"{layer} has no place in LAYERS (tools/import_cycles.py)" for layer in found]
    for module, imports in sorted(graph.items()):
        own = rank.get(layer_of(module))
        for target in sorted(imports):
            theirs = rank.get(layer_of(target))
            if own is not None and theirs is not None and theirs > own:
                breaks.append(f"layer break: {module} imports {target}, a layer above it")
    return breaks


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def main() -> int:
    """Print every import cycle; exit 1 when there is one."""
    files = sorted(SRC.rglob("*.py"))
    modules = {module_name(f) for f in files}
    # importing a submodule runs its package's __init__ first: a package's own __init__
    # importing its submodules is not a cycle through the package
    graph = {module_name(f): imported(f, modules) for f in files}
    found = cycles(graph)
    for group in found:
        print("import cycle: " + " <-> ".join(group))
    breaks = layer_breaks(graph)
    print("\n".join(breaks) if breaks else f"{len(LAYERS)} layers kept")
    if not found:
        print(f"no import cycles among {len(modules)} modules")
    return 1 if found or breaks else 0


if __name__ == "__main__":
    sys.exit(main())
