"""Shared fixtures. The Asterisk sandbox is built (first run) and started once per session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import Sandbox, SandboxInfo
from receptionist.sandbox.chroot import cache_dir
from receptionist.sandbox.state import alive, stop
from tests.postgres import pg_cluster  # noqa: F401 (a fixture)

PEOPLE_APP = "sandbox-people"


def _reap_orphans() -> None:
    """Stop sandboxes left by test runs that were killed before their teardown."""
    for state in sorted((cache_dir() / "sandboxes").glob("pytest-*.json")):
        owner = state.stem.removeprefix("pytest-")
        if owner.isdigit() and not alive(int(owner)):
            stop(state.stem)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxInfo]:
    """A real Asterisk 22 on loopback ports; never skipped: built when missing."""
    _reap_orphans()
    box = Sandbox(f"pytest-{os.getpid()}", people_app=PEOPLE_APP)
    info = box.start()
    try:
        yield info
    finally:
        box.stop()


@pytest.fixture
async def ari(sandbox: SandboxInfo) -> AsyncIterator[AriClient]:
    async with AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password) as client:
        yield client


# Figures measured by integration tests (latencies, frame intervals), printed as a
# JSON summary at the end of the run. Reported, never asserted against a target.
FIGURES: dict[str, object] = {}


@pytest.fixture
def report() -> dict[str, object]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        import json

        terminalreporter.write_sep("-", "measured")
        for key, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{key}: {value}")
        terminalreporter.write_line(json.dumps({"figures": FIGURES}, sort_keys=True))


@pytest.fixture(autouse=True)
def _no_serve_left_running() -> Iterator[None]:
    """A test that fails midway must not leave its `receptionist serve` holding ports."""
    yield
    from tests.integration.serve_process import kill_leftovers

    kill_leftovers()
