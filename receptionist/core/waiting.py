"""Waiting for an event with a time limit, without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; whether it is set.

    asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
    arrives with the event (a NOTIFY waking the outbox as serve stopped left serve
    running for ever)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
