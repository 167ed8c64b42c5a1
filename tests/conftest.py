"""Shared fixtures. The Asterisk sandbox is built (first run) and started once per session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import Sandbox, SandboxInfo

PEOPLE_APP = "sandbox-people"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxInfo]:
    """A real Asterisk 22 on loopback ports; never skipped: built when missing."""
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
