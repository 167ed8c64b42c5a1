"""Waiting in tests: on a condition the test can observe, never for a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

POLL_S = 0.05  # how often a condition with no event of its own is looked at again


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll `check` (plain or async) until it holds; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout:g} s")
        await asyncio.sleep(POLL_S)


def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """`eventually` for code outside the event loop (a fixture starting a process)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout:g} s")
        time.sleep(POLL_S)
