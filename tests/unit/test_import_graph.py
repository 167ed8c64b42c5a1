"""The package graph is one-way: no import cycles, and the protocol packages import
nothing above them. Read from the source with `ast`, so imports that only run under
TYPE_CHECKING or inside a function count too: they are the same dependency."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import receptionist

PACKAGE = Path(receptionist.__file__).parent

# Packages that speak one protocol or handle audio: they may use each other's own
# modules and the logging helpers (which mask secrets with redact), nothing else of ours.
LEAVES = ("audiosocket", "ari", "realtime", "audio")
LEAF_MAY_IMPORT = {"receptionist.core.logs", "receptionist.core.redact"}

KNOWN_CYCLES: list[set[str]] = []

Graph = Mapping[str, set[str]]


def modules(root: Path, name: str) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = [name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # `from pkg import sub` imports the submodule `pkg.sub`.
                sub = f"{source}.{alias.name}"
                yield sub if sub in known else source


def import_graph(root: Path, name: str) -> dict[str, set[str]]:
    """Each module of the package -> the modules of the package it imports."""
    known = modules(root, name)
    return {
        module: {m for m in _imported(module, path, known) if m in known and m != module}
        for module, path in known.items()
    }


def package_graph(graph: Graph, name: str) -> dict[str, set[str]]:
    """The same graph between the package's top-level modules and subpackages."""
    depth = name.count(".") + 2

    def top(module: str) -> str:
        return ".".join(module.split(".")[:depth])

    out: dict[str, set[str]] = {top(m): set() for m in graph}
    for module, targets in graph.items():
        out[top(module)] |= {top(t) for t in targets} - {top(module)}
    return out


def cycles(graph: Graph) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _unexpected(found: list[set[str]]) -> list[set[str]]:
    return [cycle for cycle in found if cycle not in KNOWN_CYCLES]


def test_no_import_cycles_between_modules() -> None:
    assert _unexpected(cycles(import_graph(PACKAGE, "receptionist"))) == []


def test_no_import_cycles_between_packages() -> None:
    graph = package_graph(import_graph(PACKAGE, "receptionist"), "receptionist")
    assert _unexpected(cycles(graph)) == []


def test_protocol_packages_import_nothing_above_them() -> None:
    graph = import_graph(PACKAGE, "receptionist")
    for leaf in LEAVES:
        prefix = f"receptionist.{leaf}"
        for module, targets in graph.items():
            if module == prefix or module.startswith(prefix + "."):
                above = {t for t in targets if not t.startswith(prefix)} - LEAF_MAY_IMPORT
                assert above == set(), f"{module} imports {sorted(above)}"
    assert graph["receptionist.core.logs"] == {"receptionist.core.redact"}
    assert graph["receptionist.core.redact"] == set()


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_cycles_are_found_through_every_form_of_import(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.c\n",
            "c.py": "def f():\n    from .sub.d import x\n",
            "sub/__init__.py": "",
            "sub/d.py": "from ..a import y\n",
            "e.py": "import pkg.a\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.sub.d"] == {"pkg.a"}
    assert cycles(graph) == [{"pkg.a", "pkg.b", "pkg.c", "pkg.sub.d"}]
    assert cycles(package_graph(graph, "pkg")) == [{"pkg.a", "pkg.b", "pkg.c", "pkg.sub"}]
