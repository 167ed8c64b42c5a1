"""The session's inbound queue: order kept, waiters woken, a cancelled wait loses nothing."""

from __future__ import annotations

import asyncio

import pytest

from receptionist.realtime.inbox import Inbox


async def test_items_come_out_in_order_and_a_waiting_get_wakes_on_put() -> None:
    inbox: Inbox[int] = Inbox()
    inbox.put_nowait(1)
    assert await inbox.get() == 1
    assert inbox.empty()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put_nowait(2)
    inbox.put_nowait(3)
    assert await waiting == 2
    assert await inbox.get() == 3


async def test_a_cancelled_get_loses_neither_the_item_nor_the_wake_up() -> None:
    inbox: Inbox[str] = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("a")  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs: `second` must get "a"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == "a"
    assert inbox.empty()


async def test_two_consumers_each_get_one_item() -> None:
    inbox: Inbox[int] = Inbox()
    consumers = [asyncio.create_task(inbox.get()) for _ in range(2)]
    await asyncio.sleep(0)
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert sorted(await asyncio.gather(*consumers)) == [1, 2]
