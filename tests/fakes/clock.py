"""Time the test moves: a monotonic clock, and asyncio timeouts that expire when the
clock passes them, so code that waits "until N ms of nothing" is tested without waiting."""

from __future__ import annotations

import asyncio
import contextlib


class FakeTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._timeouts: list[tuple[float, asyncio.Timeout]] = []

    def __call__(self) -> float:
        return self.now

    def timeout(self, delay: float | None) -> asyncio.Timeout:
        """Like asyncio.timeout, on this clock: expires at the advance() that passes it."""
        timeout = asyncio.timeout(None)  # the real machinery, fired by hand
        if delay is not None:
            self._timeouts.append((self.now + delay, timeout))
        return timeout

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [timeout for deadline, timeout in self._timeouts if deadline <= self.now]
        self._timeouts = [(d, t) for d, t in self._timeouts if d > self.now]
        loop_now = asyncio.get_running_loop().time()
        for timeout in due:
            # One whose block was already left has nothing to cancel any more.
            with contextlib.suppress(RuntimeError):
                timeout.reschedule(loop_now)
