"""Fixtures for the tests against the sandbox Asterisk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.serve_process import kill_leftovers


@pytest.fixture(autouse=True)
def _no_serve_left_running() -> Iterator[None]:
    """A test that fails midway must not leave its `receptionist serve` holding ports."""
    yield
    kill_leftovers()
