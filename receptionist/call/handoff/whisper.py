"""The whisper's own bridge and media leg: staff hear who is calling on a bridge of their
own, never on the caller's, so nothing staff say or key reaches the caller's model or the
caller's keypad, and their "hello" cannot cut the whisper short.

    staff phone --- whisper bridge --- whisper leg (AudioSocket) <- paced whisper audio
                                                                 -> staff audio: dropped
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from typing import Protocol

from receptionist.ari import AriClient
from receptionist.ari.cleanup import quietly
from receptionist.audio.clock import PlayoutClock
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.server import AudioSocketConnection, AudioSocketServer
from receptionist.core.logs import log

logger = logging.getLogger(__name__)

LEG_CONNECT_TIMEOUT = 3.0


class WhisperDeps(Protocol):
    @property
    def ari(self) -> AriClient: ...

    @property
    def app_name(self) -> str: ...

    @property
    def audiosocket(self) -> AudioSocketServer: ...

    @property
    def audiosocket_address(self) -> str: ...

    @property
    def playout_clock(self) -> PlayoutClock: ...


class WhisperLeg:
    """`open(staff_id)` gives a writer whose audio only staff hear; `close()` removes the
    leg and the bridge (safe to call at any point, more than once)."""

    def __init__(self, deps: WhisperDeps, channel_id: str, fmt: str, rate: int) -> None:
        self.deps = deps
        self.channel_id = channel_id  # routed to this call by the app, like the media leg
        self.fmt, self.rate = fmt, rate
        self.started = asyncio.Event()  # the leg's StasisStart (set by the call's events)
        self.bridge_id: str | None = None
        self.leg: AudioSocketConnection | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._requested = False  # the leg was asked for: it may exist in Asterisk

    async def open(self, staff_id: str, shown: tuple[str, str]) -> PacedWriter:
        """`shown`: the (name, number) the staff phone keeps showing while bridged with
        the leg (a bridge tells each phone who the other party is)."""
        ari, deps = self.deps.ari, self.deps
        # Its id is known before the request: an open cancelled meanwhile (the caller hung
        # up) still has close() destroy the bridge.
        bridge_id = self.bridge_id = str(uuid.uuid4())
        await ari.create_bridge("mixing", name=f"rx-whisper-{staff_id}", bridge_id=bridge_id)
        await ari.add_channel(bridge_id, staff_id)
        leg_uuid = uuid.uuid4()
        connected = deps.audiosocket.register(leg_uuid, call_id=staff_id)
        try:
            self._requested = True
            await ari.external_media(app=deps.app_name, host=deps.audiosocket_address,
                                     data=str(leg_uuid), fmt=self.fmt,
                                     channel_id=self.channel_id)  # fmt: skip
            # Added on its own StasisStart: earlier can fail silently (no audio). Timeouts
            # by asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
            # (the caller hung up) that comes as the leg connects, and the whisper went on.
            async with asyncio.timeout(LEG_CONNECT_TIMEOUT):
                await self.started.wait()
            name, number = shown
            await ari.set_variable(self.channel_id, "CALLERID(name)", name)
            await ari.set_variable(self.channel_id, "CALLERID(num)", number)
            await ari.add_channel(bridge_id, self.channel_id)
            async with asyncio.timeout(LEG_CONNECT_TIMEOUT):
                leg = self.leg = await connected
        finally:
            deps.audiosocket.unregister(leg_uuid)
        leg.consume(_drop)  # what staff say and key goes nowhere
        rate = self.rate

        def send(frame: bytes) -> None:
            leg.send_audio(frame, rate)

        # keepalive: a leg we fall quiet on can stall Asterisk's ARI (see call._open_leg).
        writer = PacedWriter(send, rate=rate, playout_clock=deps.playout_clock, keepalive=True)
        self._writer_task = asyncio.create_task(writer.run(), name=f"whisper:{staff_id}")
        return writer

    async def close(self) -> None:
        """Runs to the end even when the transfer is cancelled (the caller hung up), so no
        bridge or leg is left in Asterisk."""
        await asyncio.shield(self._close())

    async def _close(self) -> None:
        task, self._writer_task = self._writer_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        if self.leg is not None:
            self.leg.hangup()
        if self._requested:
            await quietly(self.deps.ari.hangup(self.channel_id))
        bridge, self.bridge_id = self.bridge_id, None
        if bridge is not None:
            await quietly(self.deps.ari.destroy_bridge(bridge))
        log(logger, logging.DEBUG, "whisper leg closed", bridge=bridge)


def _drop(_frame: object) -> None:
    """Frames from the whisper leg: staff's voice and keys, heard by nobody."""


async def shielded(step: Awaitable[None]) -> None:
    """A best-effort ARI cleanup step that a cancelled transfer still finishes."""
    await asyncio.shield(quietly(step))
