"""Small helpers for tests that drive a RealtimeSession against the fake server."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from receptionist.realtime import AudioDelta, RealtimeEvent, RealtimeSession, SessionClosed

E = TypeVar("E")


async def read_until(
    session: RealtimeSession, wanted: type[E], *, within_s: float = 3.0
) -> tuple[E, list[RealtimeEvent]]:
    """Read events until one of type `wanted`; returns it and every event read before it.

    Fails (AssertionError) if the session closes first, unless SessionClosed is wanted.
    """
    seen: list[RealtimeEvent] = []
    async with asyncio.timeout(within_s):
        while True:
            event = await session.next_event()
            if isinstance(event, wanted):
                return event, seen
            if isinstance(event, SessionClosed):
                raise AssertionError(f"session closed while waiting for {wanted.__name__}: {event}")
            seen.append(event)


def audio_of(events: list[RealtimeEvent], response_id: str | None = None) -> bytes:
    """The model audio among `events` (optionally of one response), concatenated."""
    return b"".join(
        e.pcm24
        for e in events
        if isinstance(e, AudioDelta) and (response_id is None or e.response_id == response_id)
    )
