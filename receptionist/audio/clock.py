"""One playout clock for every call: a single 20 ms timer pumps all the paced writers.

A timer and a task wake-up per call per frame is most of the event loop's work at a
hundred calls, and each one is a chance to be late. Here one tick on an absolute
clock sends the due frame of every writer in a tight loop; a writer that receives
audio while idle is pumped at once (`kick`), so the first frame of a reply does not
wait for the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from receptionist.audio.writer import PacedWriter


class PlayoutClock:
    """Drives PacedWriters: `await clock.drive(writer)` from the writer's run()."""

    def __init__(
        self,
        frame_ms: int = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._frame_s = frame_ms / 1000
        self._clock = clock
        self._sleep = sleep
        self._writers: dict[PacedWriter, asyncio.Future[None]] = {}
        self._kicked: set[PacedWriter] = set()
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.late_ticks = 0  # ticks that ran more than a frame late (the loop was busy)

    @property
    def writers(self) -> int:
        return len(self._writers)

    async def drive(self, writer: PacedWriter) -> None:
        """Pump `writer` on every tick until cancelled; raises what its send raised."""
        failed = asyncio.get_running_loop().create_future()
        self._writers[writer] = failed
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="playout-clock")
        try:
            await failed
        finally:
            self._writers.pop(writer, None)
            self._kicked.discard(writer)

    def kick(self, writer: PacedWriter) -> None:
        """Pump `writer` as soon as the loop is free (it just received audio)."""
        if writer in self._writers and writer not in self._kicked:
            self._kicked.add(writer)
            asyncio.get_running_loop().call_soon(self._kick, writer)

    def _kick(self, writer: PacedWriter) -> None:
        self._kicked.discard(writer)
        if writer in self._writers:
            self._pump(writer, self._clock())

    def _pump(self, writer: PacedWriter, now: float) -> None:
        failed = self._writers[writer]
        if failed.done():
            return
        try:
            writer.pump(now, slack=self._frame_s / 2)
        except Exception as exc:  # noqa: BLE001 - not swallowed: that writer's run() raises it
            self._writers.pop(writer)
            failed.set_exception(exc)

    async def _run(self) -> None:
        due = self._clock()
        while self._writers:
            due += self._frame_s
            await self._sleep(max(0.0, due - self._clock()))
            now = self._clock()
            self.ticks += 1
            if now - due > self._frame_s:
                # The loop was busy for over a frame: go on from now, don't burst.
                self.late_ticks += 1
                due = now
            for writer in list(self._writers):
                with contextlib.suppress(KeyError):  # it ended during this tick
                    self._pump(writer, now)
