"""Every test has its kind, and the README's ways of choosing tests choose what they say:
`make test-unit` only unit tests, `-m 'not integration'` never the docker tests."""

from __future__ import annotations

import ast
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import conftest

REPO = Path(__file__).resolve().parents[2]


def recipe(target: str) -> list[str]:
    """The pytest command a make target runs (as `make -n` prints it)."""
    printed = subprocess.run(
        ["make", "-n", "-s", target], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    [line] = [line for line in printed.splitlines() if " -m pytest" in line]
    words = shlex.split(line)
    # From the interpreter on (an environment setting may come first).
    return words[next(i for i, word in enumerate(words) if word.endswith("/python")) :]


# One test file of each kind: choosing among them shows what a choice picks, at the cost
# of collecting four files rather than the whole suite.
ONE_OF_EACH = {
    "unit": "tests/unit/test_printable.py",
    "integration": "tests/integration/test_admin_configs.py",
    "web": "tests/web/test_proxies.py",
    "docker": "tests/docker/test_compose.py",
}


def chosen(*options: str) -> set[str]:
    """The kinds whose file a pytest run with `options` collects (and does not deselect)."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", *options, "-n", "0", "--collect-only", "-q",
         "-p", "no:cacheprovider", *ONE_OF_EACH.values()],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert ids, collected.stdout
    return {kind for kind, path in ONE_OF_EACH.items() if any(n.startswith(path) for n in ids)}


def test_make_test_unit_runs_the_unit_tests_only() -> None:
    command = recipe("test-unit")
    assert command[1:6] == ["-m", "pytest", "-m", "unit", "-n"]
    assert chosen(*command[3:]) == {"unit"}


def test_not_integration_leaves_out_the_docker_tests_too() -> None:
    assert chosen("-m", "not integration") == {"unit", "web"}


def test_make_test_and_make_docker_test_choose_as_the_readme_says() -> None:
    # Without -m every kind but docker runs (the hook's rule, shown below); with -m docker
    # only the docker tests.
    assert recipe("test")[1:] == ["-m", "pytest"]
    assert recipe("docker-test")[1:] == ["-m", "pytest", "tests/docker", "-m", "docker"]
    kept, deselected = select("", "unit", "integration", "web", "docker")
    assert [item.marks for item in kept] == [["unit"], ["integration"], ["web"]]
    assert [item.marks for item in deselected] == [["docker"]]
    kept, deselected = select("docker", "docker")
    assert [item.marks for item in kept] == [["docker"]] and deselected == []


@dataclass
class Item:
    """The part of a pytest item the kind hook uses."""

    path: Path
    nodeid: str = ""
    marks: list[str] = field(default_factory=list)

    def add_marker(self, name: str) -> None:
        self.marks.append(name)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.marks else None


def select(markexpr: str, *folders: str) -> tuple[list[Item], list[Item]]:
    """Run the kind hook on one test per folder: (kept, deselected)."""
    items = [Item(conftest.TESTS / folder / "test_x.py", f"tests/{folder}/test_x.py::t")
             for folder in folders]  # fmt: skip
    deselected: list[Any] = []
    config = SimpleNamespace(
        option=SimpleNamespace(markexpr=markexpr),
        hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)),
    )
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    return items, deselected


def test_each_test_is_marked_with_the_kind_of_its_folder() -> None:
    kept, _ = select("docker", "unit", "integration", "web", "docker")
    assert [item.marks for item in kept] == [["unit"], ["integration"], ["web"], ["docker"]]


def test_a_test_outside_the_kind_folders_is_refused() -> None:
    with pytest.raises(pytest.UsageError, match="a test lives in one of"):
        select("", "elsewhere")


def test_only_the_integration_tests_use_the_integration_helpers() -> None:
    """Shared helpers live in tests/ or tests/fakes/: a unit test never needs the sandbox's."""
    users = []
    for path in sorted(conftest.TESTS.rglob("*.py")):
        if path.relative_to(conftest.TESTS).parts[0] == "integration":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name.startswith("tests.integration") for name in names):
                users.append(str(path.relative_to(conftest.TESTS)))
    assert users == []
