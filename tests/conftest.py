"""Shared fixtures and the kinds of test.

The Asterisk sandbox is built (first run) and started once per session. Each test is
marked with its kind from the folder it lives in (unit, integration, web, docker), so
`-m` selects by kind; the docker tests run only when asked for by name (`-m docker`).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import Sandbox, SandboxInfo
from receptionist.sandbox.chroot import cache_dir
from receptionist.sandbox.state import alive, stop
from tests.postgres import pg_cluster  # noqa: F401 (a fixture)

PEOPLE_APP = "sandbox-people"
TESTS = Path(__file__).resolve().parent
KINDS = ("unit", "integration", "web", "docker")  # one folder each under tests/


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marks added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in one of {KINDS} folders")
        item.add_marker(folder)
    # The Docker stack test installs and starts an engine and builds images: it is
    # never picked up by an expression that does not name it (`-m 'not integration'`).
    if not re.search(r"\bdocker\b", config.option.markexpr or ""):
        docker = [item for item in items if item.get_closest_marker("docker")]
        if docker:
            items[:] = [item for item in items if not item.get_closest_marker("docker")]
            config.hook.pytest_deselected(items=docker)


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
    deselected = terminalreporter.stats.get("deselected", [])
    docker = [item for item in deselected if item.get_closest_marker("docker")]
    if docker and not re.search(r"\bdocker\b", terminalreporter.config.option.markexpr or ""):
        terminalreporter.write_line(
            f"{len(docker)} docker test(s) left out: they run with -m docker (make docker-test)"
        )
    if FIGURES:
        import json

        terminalreporter.write_sep("-", "measured")
        for key, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{key}: {value}")
        terminalreporter.write_line(json.dumps({"figures": FIGURES}, sort_keys=True))
