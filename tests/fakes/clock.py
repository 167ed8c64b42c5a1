"""Time the test moves: a monotonic clock, and timers that fire when the clock passes
them, so code that waits "until N ms of nothing" is tested without waiting."""

from __future__ import annotations

from collections.abc import Callable


class FakeTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._timers: list[tuple[float, FakeTimer]] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        """Like loop.call_later, on this clock: called at the advance() that passes it."""
        timer = FakeTimer(callback)
        self._timers.append((self.now + delay, timer))
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := [(at, t) for at, t in self._timers if at <= self.now]:
            self._timers = [(at, t) for at, t in self._timers if at > self.now]
            for _, timer in sorted(due, key=lambda d: d[0]):
                if not timer.cancelled:
                    timer.callback()


class FakeTimer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
