"""One playout clock for every call: a single timer pumps all the paced writers.

A timer and a task wake-up per call per frame is most of the event loop's work at a
hundred calls, and each one is a chance to be late. Here one timer ticks every 5 ms on
an absolute clock and sends the frames due around then (within half a tick). Calls keep
their own phase within the 20 ms frame, so their frames do not all leave in one burst
that Asterisk and the network would then deliver in a different order each time. A
writer that receives audio while idle is pumped at once (`kick`), so the first frame of
a reply does not wait for a tick.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol


class Pumped(Protocol):
    """What the clock drives (audio/writer.py's PacedWriter)."""

    def pump(self, now: float, slack: float) -> float | None:
        """Send the frames due by `now` + `slack`; when the next one is due, None if idle."""


class PlayoutClock:
    """Drives PacedWriters: `await clock.drive(writer)` from the writer's run()."""

    def __init__(
        self,
        tick_ms: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._tick_s = tick_ms / 1000
        self._clock = clock
        self._sleep = sleep
        self._writers: dict[Pumped, asyncio.Future[None]] = {}
        self._next_at: dict[Pumped, float] = {}  # when each writer next has a frame due
        self._kicked: set[Pumped] = set()
        self._task: asyncio.Task[None] | None = None
        self._origin: float | None = None  # a tick time: ticks fall on origin + k * tick
        self._due: float | None = None  # the next tick's time, while the clock runs
        self.ticks = 0

    @property
    def writers(self) -> int:
        return len(self._writers)

    async def drive(self, writer: Pumped) -> None:
        """Pump `writer` on every tick until cancelled; raises what its send raised."""
        failed = asyncio.get_running_loop().create_future()
        self._writers[writer] = failed
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="playout-clock")
        self.kick(writer)  # audio written before this writer's run() started
        try:
            await failed
        finally:
            self._writers.pop(writer, None)
            self._next_at.pop(writer, None)
            self._kicked.discard(writer)

    def align(self, t: float) -> float:
        """The first tick time at or after `t`. A writer starting a timeline there has
        all its frames due exactly on ticks, half a tick away from the decision whether
        this tick or the next sends them, so a tick running a little late never moves
        a frame to the next tick (5 ms of jitter)."""
        if self._origin is None:
            return t
        return self._origin + math.ceil((t - self._origin) / self._tick_s) * self._tick_s

    def catch_up(self) -> None:
        """Run the next tick now if it is overdue (see the module docstring)."""
        due = self._due
        if due is not None and self._clock() >= due:
            self._tick()

    def kick(self, writer: Pumped) -> None:
        """Pump `writer` as soon as the loop is free (it just received audio) if it was
        idle. A writer with a frame due (playing, or sending keepalive silence) sends the
        new audio on that frame's tick anyway: a kick per delta would only cost a callback."""
        self.catch_up()
        if self._next_at.get(writer, math.inf) != math.inf:
            return
        if writer in self._writers and writer not in self._kicked:
            self._kicked.add(writer)
            asyncio.get_running_loop().call_soon(self._kick, writer)

    def _kick(self, writer: Pumped) -> None:
        self._kicked.discard(writer)
        if writer in self._writers:
            self._pump(writer, self._clock(), 0.0)

    def _pump(self, writer: Pumped, now: float, slack: float) -> None:
        failed = self._writers[writer]
        if failed.done():
            return
        try:
            next_at = writer.pump(now, slack)
        except Exception as exc:  # noqa: BLE001 - not swallowed: that writer's run() raises it
            self._writers.pop(writer)
            self._next_at.pop(writer, None)
            failed.set_exception(exc)
            return
        self._next_at[writer] = math.inf if next_at is None else next_at

    async def _run(self) -> None:
        self._origin = self._clock()
        self._due = self._origin + self._tick_s
        try:
            while self._writers:
                await self._sleep(max(0.0, self._due - self._clock()))
                self.catch_up()  # nothing to do if an input path ran this tick already
        finally:
            self._origin = self._due = None

    def _tick(self) -> None:
        now = self._clock()
        due = self._due
        assert due is not None
        self.ticks += 1
        # The next tick; one that ran over a tick late skips the ticks missed but keeps
        # the phase, so no call's frames move to another tick (that would be jitter).
        self._due = due + (math.floor((now - due) / self._tick_s) + 1) * self._tick_s
        slack = self._tick_s / 2
        for writer, next_at in list(self._next_at.items()):
            if next_at <= now + slack and writer in self._writers:
                self._pump(writer, now, slack)
