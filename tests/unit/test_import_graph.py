"""The package graph is one-way: no import cycles, each folder imports only the folders
its rule allows (docs/architecture.md draws them), and the protocol packages import
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

# The parts from the top down: a part may import the parts on the levels below its own,
# never one beside it or above it. docs/architecture.md shows the same order.
LEVELS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("service",),
    ("web",),
    ("call",),
    ("tools", "delivery", "settings"),
    # The turn machine is pure (events in, commands out): beside the store, not above it,
    # so it reaches neither the store nor the tools, whose requests are its events. The
    # model providers speak the protocols and hand the call their typed events.
    ("store", "turns", "model"),
    ("audiosocket", "audio", "realtime", "ari", "business"),
    ("core",),
)
APART = "sandbox"  # imports nothing of ours; only cli (and the tests) use it
ROOT = ""  # receptionist/__init__.py: only __version__, any part may read it


def by_levels(levels: tuple[tuple[str, ...], ...]) -> dict[str, set[str]]:
    """Each part -> the parts on the levels below its own (and the package's root)."""
    return {
        part: {below for lower in levels[depth + 1 :] for below in lower} | {ROOT}
        for depth, level in enumerate(levels)
        for part in level
    }


def _rules() -> dict[str, set[str]]:
    table = by_levels(LEVELS)
    table[APART] = set()
    table["cli"].add(APART)
    return table


MAY_IMPORT = _rules()

# Imports against the rules that are being removed: (importer, imported) -> why it is
# still there. An entry the code no longer needs fails the test, so the list only shrinks.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}

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


def part(module: str, name: str) -> str:
    """The folder (or top-level module) of the package a module belongs to; "" for its root."""
    rest = module.removeprefix(name).removeprefix(".")
    return rest.split(".")[0]


def against_rules(
    graph: Graph, name: str, rules: Mapping[str, set[str]]
) -> dict[tuple[str, str], list[str]]:
    """Each (importer part, imported part) pair the rules forbid -> the imports behind it."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, targets in sorted(graph.items()):
        source = part(module, name)
        for target in sorted(targets):
            dest = part(target, name)
            if dest != source and dest not in rules.get(source, set()):
                found.setdefault((source, dest), []).append(f"{module} -> {target}")
    return found


def _unexpected(found: list[set[str]]) -> list[set[str]]:
    return [cycle for cycle in found if cycle not in KNOWN_CYCLES]


def test_no_import_cycles_between_modules() -> None:
    assert _unexpected(cycles(import_graph(PACKAGE, "receptionist"))) == []


def test_no_import_cycles_between_packages() -> None:
    graph = package_graph(import_graph(PACKAGE, "receptionist"), "receptionist")
    assert _unexpected(cycles(graph)) == []


def test_every_part_has_a_rule() -> None:
    parts = {part(module, "receptionist") for module in import_graph(PACKAGE, "receptionist")}
    assert parts == set(MAY_IMPORT) | {ROOT}


def test_parts_import_only_what_the_folder_rules_allow() -> None:
    found = against_rules(import_graph(PACKAGE, "receptionist"), "receptionist", MAY_IMPORT)
    unexpected = {pair: imports for pair, imports in found.items() if pair not in KNOWN_EXCEPTIONS}
    assert unexpected == {}, "imports against the folder rules (docs/architecture.md)"
    stale = set(KNOWN_EXCEPTIONS) - set(found)
    assert stale == set(), f"no longer imported: remove {sorted(stale)} from KNOWN_EXCEPTIONS"


def test_the_architecture_doc_draws_these_rules() -> None:
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    line = " -> ".join(" | ".join(level) for level in LEVELS)
    assert line in doc


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


def test_an_import_against_the_folder_rules_is_found(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "__init__.py": "__version__ = '1'\n",
            "core/__init__.py": "",
            "core/logs.py": "",
            "store/__init__.py": "",
            "store/db.py": "from pkg.core import logs\nfrom pkg import __version__\n",
            "call/__init__.py": "",
            "call/flow.py": "from pkg.store.db import x\n",
            # Upward, inside a function: still a dependency.
            "store/bad.py": "def f():\n    from ..call.flow import y\n",
            # Sideways (same level), under TYPE_CHECKING.
            "tools/__init__.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    import pkg.mail.send\n",
            "mail/__init__.py": "",
            "mail/send.py": "",
        },
    )
    rules = by_levels((("call",), ("tools", "mail"), ("store",), ("core",)))
    graph = import_graph(tmp_path, "pkg")
    assert cycles(graph) == []  # a bad import need not make a cycle to be caught
    assert against_rules(graph, "pkg", rules) == {
        ("store", "call"): ["pkg.store.bad -> pkg.call.flow"],
        ("tools", "mail"): ["pkg.tools -> pkg.mail.send"],
    }
