"""Refused AudioSocket connections, logged so that a flood cannot fill the disk.

AudioSocket has no authentication, so anything that reaches the port is refused unless
it sends a UUID we issued: a port scanner or a misrouted client can refuse itself
thousands of times a second. The first refusal after a quiet spell is logged in full
(peer and reason); later ones within `window` seconds are counted and logged as one
summary line per window, by reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from receptionist.core.logs import log

logger = logging.getLogger("receptionist.audiosocket.server")

SUMMARY_WINDOW = 10.0
# asyncio's accept loop reports a full file-descriptor table with this message (then
# pauses accepting for a second); it would log a traceback for every attempt.
ACCEPT_OUT_OF_RESOURCES = "socket.accept() out of system resource"


_Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


class RefusalLog:
    """At most one detailed line and one summary line per window, however many refusals."""

    def __init__(self, window: float = SUMMARY_WINDOW) -> None:
        self.window = window
        self.counts: Counter[str] = Counter()  # this window's refusals not logged, by reason
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: _Handler | None = None  # the loop's exception handler before ours

    def refused(self, peer: str, reason: str, **fields: object) -> None:
        if self._timer is None:
            log(logger, logging.WARNING, "audiosocket connection refused",
                peer=peer, reason=reason, **fields)  # fmt: skip
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush)
        else:
            # The reason's kind only ("protocol error", "unknown uuid"): bounded keys.
            self.counts[reason.split(":")[0]] += 1

    def _flush(self, *, reopen: bool = True) -> None:
        self._timer = None
        if not self.counts:
            return
        reasons = ", ".join(f"{reason}: {n}" for reason, n in self.counts.most_common())
        log(logger, logging.WARNING, "audiosocket connections refused", count=self.counts.total(),
            window_s=self.window, reasons=reasons)  # fmt: skip
        self.counts.clear()
        if reopen:  # a flood that goes on keeps to one summary per window
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush)

    def close(self) -> None:
        """Log what is still counted and give the loop its exception handler back."""
        if self._timer is not None:
            self._timer.cancel()
        self._flush(reopen=False)
        if self._loop is not None:
            self._loop.set_exception_handler(self._previous)
            self._loop = None

    def watch_accept_errors(self, loop: asyncio.AbstractEventLoop) -> None:
        """Report a full descriptor table at accept as a refusal (no traceback per attempt);
        every other loop error goes to the handler that was there before."""
        previous = self._previous = loop.get_exception_handler()
        self._loop = loop

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if context.get("message") == ACCEPT_OUT_OF_RESOURCES:
                error = context.get("exception")
                self.refused("", f"out of file descriptors: {error}; accepting again in 1 s")
            elif previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        loop.set_exception_handler(handler)
