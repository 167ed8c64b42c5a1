"""The session's inbound events: a deque, and a future for each consumer waiting.

Every model audio delta passes through here on its way to the call. asyncio.Queue does
more per item than this needs (a size bound, task accounting, putters, and a look-up of
the running loop on every get, which is a getpid system call).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """An unbounded FIFO: put() never waits; get() waits for an item."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None  # the consumer's, on first get

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._wake_next()

    async def get(self) -> T:
        while not self._items:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            waiter = self._loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._wake_next()  # it was handed the item: pass the wake-up on
                raise
        return self._items.popleft()

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled get() leaves its future behind
                waiter.set_result(None)
                return
