"""The ARI events websocket comes back within a second of Asterisk coming back."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from receptionist.ari import client as ari_client
from receptionist.ari.client import AriClient
from receptionist.sandbox.launcher import free_port


async def test_reconnect_waits_at_most_a_second_however_long_asterisk_is_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    twelve = asyncio.Event()
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:  # record the backoff, do not wait it out
        waits.append(seconds)
        if len(waits) >= 12:
            twelve.set()
        await real_sleep(0)

    monkeypatch.setattr(ari_client.asyncio, "sleep", sleep)
    # Nothing listens on this port: every attempt is refused at once, like a stopped Asterisk.
    async with AriClient(f"http://127.0.0.1:{free_port()}", "u", "p") as ari:

        async def consume() -> None:
            async for _ in ari.events("receptionist"):
                pass

        task = asyncio.create_task(consume())
        await asyncio.wait_for(twelve.wait(), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert max(waits) <= 1.0, waits
    assert waits[-1] == 1.0  # and it does not hammer a stopped Asterisk either
