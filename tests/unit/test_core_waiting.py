"""wait_set: an event or a time limit, and a cancellation is never lost."""

from __future__ import annotations

import asyncio

import pytest

from receptionist.core.waiting import wait_set


async def test_it_says_whether_the_event_came_in_time() -> None:
    event = asyncio.Event()
    assert not await wait_set(event, 0.01)
    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_set(event, 5)


async def test_a_cancellation_that_comes_with_the_event_still_cancels() -> None:
    """The case wait_for loses on Python 3.11: the event is set and the waiter cancelled
    in the same loop turn."""
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_set(event, 5))
    await asyncio.sleep(0)  # waiting now
    event.set()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
