"""Every test has its kind, and the README's ways of choosing tests choose what they say:
`make test-unit` only unit tests, `-m 'not integration'` never the docker tests."""

from __future__ import annotations

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
    return shlex.split(line)


SELF = "test_make_test_unit_collects_the_unit_tests_and_nothing_else"


def test_make_test_unit_collects_the_unit_tests_and_nothing_else() -> None:
    command = recipe("test-unit")
    assert command[1:] == ["-m", "pytest", "-m", "unit", "-n", "auto"]
    # The same command, collecting only (one process: -n 0).
    collected = subprocess.run(
        [sys.executable, *command[1:], "-n", "0", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert f"tests/unit/{Path(__file__).name}::{SELF}" in ids
    assert all(node.startswith("tests/unit/") for node in ids), [
        node for node in ids if not node.startswith("tests/unit/")
    ]
    assert "deselected" in collected.stdout  # the other kinds were there and left out


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


@pytest.mark.parametrize("markexpr", ["", "not integration", "unit or web", "not unit"])
def test_docker_tests_run_only_when_the_expression_names_them(markexpr: str) -> None:
    kept, deselected = select(markexpr, "unit", "docker")
    assert [item.marks for item in kept] == [["unit"]]
    assert [item.marks for item in deselected] == [["docker"]]


def test_a_test_outside_the_kind_folders_is_refused() -> None:
    with pytest.raises(pytest.UsageError, match="a test lives in one of"):
        select("", "elsewhere")
