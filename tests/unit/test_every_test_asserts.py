"""Every test asserts something: an `assert`, `pytest.raises`/`fail`/`warns`, or a call
to a helper of the same file that does. A test that only runs code proves little."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CHECKS = {"raises", "fail", "warns"}  # pytest.raises(...) and the like

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _checks_itself(function: Function) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Attribute) and node.attr in CHECKS:
            return True
    return False


def _called_names(function: Function) -> set[str]:
    return {
        node.func.id
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def unchecked_tests(source: str) -> list[str]:
    """The test functions of one module that check nothing, even through its helpers."""
    functions = {
        node.name: node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    checking = {name for name, function in functions.items() if _checks_itself(function)}
    grew = True
    while grew:  # helpers that call helpers that check
        known = len(checking)
        checking |= {
            name for name, function in functions.items() if _called_names(function) & checking
        }
        grew = len(checking) > known
    return sorted(name for name in functions if name.startswith("test_") and name not in checking)


def test_every_test_in_the_suite_checks_something() -> None:
    found = {
        str(path.relative_to(TESTS)): missing
        for path in sorted(TESTS.rglob("test_*.py"))
        if (missing := unchecked_tests(path.read_text()))
    }
    assert found == {}


def test_a_test_that_only_runs_code_is_found() -> None:
    source = """
import pytest

def _expect(x):
    assert x

def _via(x):
    _expect(x)

def test_direct():
    assert 1

def test_raises():
    with pytest.raises(ValueError):
        int("x")

async def test_through_helpers():
    _via(2)

def test_nothing():
    print("ran")

async def test_awaits_only():
    await something()
"""
    assert unchecked_tests(source) == ["test_awaits_only", "test_nothing"]
