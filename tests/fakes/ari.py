"""An in-memory Asterisk behind `AriClient`'s methods, for in-process call-flow tests.

`AriClient` is the receptionist's only way to Asterisk, so a fake with the same methods
(and the same typed events, built from ARI's JSON by `parse_event`) runs the real `Call`
and `ReceptionistApp`. Channels, bridges, variables, dialplan continues and recordings
live in dicts; every request is logged in order. `external_media` does what Asterisk
does: the media channel enters Stasis, then a real TCP connection to the AudioSocket
server sends the leg's UUID. The test holds the other end of that socket (`Phone`): what
it reads is what the caller hears, what it sends is the caller's voice and keypad.

Only what Asterisk alone can confirm (real media timing, dialplan, SIP) stays in the
integration tests against the sandbox.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from receptionist.ari import AriError, Bridge, Channel, Event, Recording, parse_event
from receptionist.audiosocket.protocol import (
    AudioFrame,
    Decoder,
    encode_audio,
    encode_dtmf,
    encode_uuid,
)


class Phone:
    """The Asterisk end of an AudioSocket leg: hears the receptionist, speaks as the caller."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rate: int):
        self.rate = rate
        self.heard: list[tuple[float, bytes]] = []  # (time.monotonic(), pcm) per read
        self._reader, self._writer = reader, writer
        self._decoder = Decoder()
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._read())

    @property
    def audio(self) -> bytes:
        return b"".join(pcm for _, pcm in self.heard)

    async def _read(self) -> None:
        while data := await self._reader.read(65536):
            now = time.monotonic()
            frames = [f for f in self._decoder.feed(data) if isinstance(f, AudioFrame)]
            self.heard += [(now, f.pcm) for f in frames]
            async with self._changed:
                self._changed.notify_all()

    async def wait_heard(self, predicate: Any, timeout: float = 5.0) -> None:
        """Wait until predicate(audio heard so far) is true."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.audio))

    async def say(self, pcm: bytes) -> None:
        """Send caller audio in 20 ms frames, paced in real time (as a phone would)."""
        step = self.rate * 2 // 50
        loop = asyncio.get_running_loop()
        due = loop.time()
        for i in range(0, len(pcm) - step + 1, step):
            self._writer.write(encode_audio(pcm[i : i + step], self.rate))
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def press(self, digit: str) -> None:
        self._writer.write(encode_dtmf(digit))
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()
        self._task.cancel()


@dataclass
class _Channel:
    channel: Channel
    variables: dict[str, str] = field(default_factory=dict)
    continued: tuple[str, str] | None = None  # (context, extension) it left Stasis into
    gone: bool = False


class FakeAri:
    """Stands in for AriClient. `requests` logs (method, channel or bridge id) in order."""

    def __init__(self, *, version: str = "22.10.1") -> None:
        self.app = ""
        self.version_string = version
        self.server = "fake-pbx/02:00:00:00:00:01"  # systemname/entity id
        self.requests: list[tuple[str, str]] = []
        self.request_times: list[float] = []  # time.monotonic() of each request
        self.channels: dict[str, _Channel] = {}
        self.bridges: dict[str, list[str]] = {}
        self.endpoints: dict[str, tuple[str, bool]] = {}  # "PJSIP/201" -> (state, busy)
        self.recordings: list[str] = []
        self.phones: dict[str, Phone] = {}  # media channel id -> the leg's far end
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._held: list[Event] = []  # see arriving()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    # -------------------------------------------------------------- what a test does
    def place_call(self, args: tuple[str, ...], *, caller: str = "5551234") -> str:
        """A caller enters Stasis(app, *args) ringing; returns the channel id."""
        channel_id = f"caller-{next(self._ids)}"
        channel = Channel(channel_id, f"PJSIP/trunk-{channel_id}", "Ring", caller_number=caller)
        self.channels[channel_id] = _Channel(channel)
        self._emit("StasisStart", channel_id, args=list(args))
        return channel_id

    def arriving(self, args: tuple[str, ...]) -> str:
        """A caller entering Stasis as the app connects: the app's channel list shows it
        before its StasisStart is read (it comes after the next `application()`)."""
        channel_id = self.place_call(args)
        self._held.append(self._queue.get_nowait())
        return channel_id

    def left_in_stasis(self, args: tuple[str, ...]) -> str:
        """A caller a dead process left in Stasis: its StasisStart went to that process."""
        channel_id = self.place_call(args)
        self._queue.get_nowait()
        return channel_id

    def caller_elsewhere(self, context: str) -> str:
        """A caller Asterisk has outside this app (in the dialplan `context`); its id."""
        channel_id = f"caller-{next(self._ids)}"
        channel = Channel(channel_id, f"PJSIP/trunk-{channel_id}", "Up", dialplan_context=context)
        self.channels[channel_id] = _Channel(channel, continued=(context, "s"))
        return channel_id

    def caller_hangs_up(self, channel_id: str) -> None:
        self._leave(channel_id)

    async def wait_for(
        self, method: str, target: str | None = None, timeout: float = 5.0, *, times: int = 1
    ) -> None:
        """Wait until the receptionist has made this request (on `target`, if given)."""

        def made() -> bool:
            return sum(m == method and target in (None, t) for m, t in self.requests) >= times

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(made)

    def made(self, method: str, target: str | None = None) -> bool:
        return any(m == method and target in (None, t) for m, t in self.requests)

    def made_at(self, method: str, target: str | None = None) -> float:
        """When the first such request was made (time.monotonic())."""
        return next(
            at
            for (m, t), at in zip(self.requests, self.request_times, strict=True)
            if m == method and target in (None, t)
        )

    def phone(self) -> Phone:
        [phone] = self.phones.values()
        return phone

    # -------------------------------------------------------------- AriClient's methods
    async def events(
        self,
        apps: str,
        *,
        connected: asyncio.Event | None = None,
        max_backoff: float = 1.0,
        on_connect: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[Event]:
        self.app = apps
        if connected is not None:
            connected.set()
        if on_connect is not None:
            await on_connect()
        while True:
            yield await self._queue.get()

    async def version(self) -> str:
        return self.version_string

    async def server_id(self) -> str:
        return self.server

    async def user_event(self, app: str, name: str) -> None:
        data = {"type": "ChannelUserevent", "application": app, "eventname": name}
        self._queue.put_nowait(parse_event(data))

    async def channel_ids(self) -> tuple[str, ...]:
        await self._log("channels", "")
        return tuple(i for i, c in self.channels.items() if not c.gone)

    async def application(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        in_stasis = tuple(i for i, c in self.channels.items() if not c.gone and not c.continued)
        for event in self._held:
            self._queue.put_nowait(event)
        self._held.clear()
        return in_stasis, tuple(self.bridges)

    async def ring(self, channel_id: str) -> None:
        await self._log("ring", channel_id)

    async def answer(self, channel_id: str) -> None:
        await self._log("answer", channel_id)
        entry = self._channel(channel_id)
        entry.channel = Channel(**{**entry.channel.__dict__, "state": "Up"})

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self._log("hangup", channel_id)
        if channel_id in self.channels and not self.channels[channel_id].gone:
            self._leave(channel_id)

    async def create_bridge(
        self, bridge_type: str = "mixing", name: str = "", bridge_id: str | None = None
    ) -> Bridge:
        bridge_id = bridge_id or f"bridge-{next(self._ids)}"
        self.bridges[bridge_id] = []
        await self._log("create_bridge", bridge_id)
        return Bridge(bridge_id, bridge_type, ())

    async def add_channel(self, bridge_id: str, channel_id: str) -> None:
        self._channel(channel_id)
        self.bridges[bridge_id].append(channel_id)
        await self._log("add_channel", channel_id)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.bridges.pop(bridge_id, None)
        await self._log("destroy_bridge", bridge_id)

    async def external_media(
        self, *, app: str, host: str, data: str, fmt: str = "slin16", channel_id: str | None = None
    ) -> Channel:
        media_id = channel_id or f"media-{next(self._ids)}"
        channel = Channel(media_id, f"AudioSocket/{host}-{media_id}", "Up")
        self.channels[media_id] = _Channel(channel)
        await self._log("external_media", media_id)
        self._emit("StasisStart", media_id, args=[data])
        address, port = host.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(address, int(port))
        writer.write(encode_uuid(uuid.UUID(data)))
        self.phones[media_id] = Phone(
            reader, writer, {"slin24": 24000, "slin16": 16000}.get(fmt, 8000)
        )
        return channel

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        self._channel(channel_id).variables[name.lstrip("_")] = value
        await self._log("set_variable", channel_id)

    async def subscribe(self, app: str, event_source: str) -> None:
        await self._log("subscribe", event_source.removeprefix("channel:"))

    async def get_variable(self, channel_id: str, name: str) -> str | None:
        return self._channel(channel_id).variables.get(name.lstrip("_"))

    async def continue_in_dialplan(
        self, channel_id: str, context: str, extension: str = "s", priority: int = 1
    ) -> None:
        self._channel(channel_id).continued = (context, extension)
        await self._log("continue", channel_id)
        self._emit("StasisEnd", channel_id)
        if context == "receptionist-record":  # MixMonitor started; straight back to Stasis
            self._channel(channel_id).continued = None
            self._emit("StasisStart", channel_id, args=["resume"])

    async def endpoint_state(self, tech: str, resource: str) -> tuple[str, bool]:
        return self.endpoints.get(f"{tech}/{resource}", ("missing", False))

    async def record_bridge(self, bridge_id: str, name: str, fmt: str = "wav") -> Recording:
        self.recordings.append(name)
        await self._log("record_bridge", bridge_id)
        return Recording(name, "recording", fmt)

    async def stop_recording(self, name: str) -> None:
        await self._log("stop_recording", name)
        recording = {"name": name, "state": "done", "format": "wav", "duration": 1}
        self._queue.put_nowait(
            parse_event({"type": "RecordingFinished", "application": self.app,
                         "recording": recording})
        )  # fmt: skip

    # -------------------------------------------------------------- Asterisk's side
    def _channel(self, channel_id: str) -> _Channel:
        entry = self.channels.get(channel_id)
        if entry is None or entry.gone:
            raise AriError("POST", f"channels/{channel_id}", 404, "Channel not found")
        return entry

    def _leave(self, channel_id: str) -> None:
        entry = self.channels[channel_id]
        entry.gone = True
        if channel_id in self.phones:
            self.phones[channel_id].close()
        for kind in ("StasisEnd", "ChannelDestroyed"):
            self._emit(kind, channel_id)

    def _emit(self, kind: str, channel_id: str, **extra: Any) -> None:
        channel = self.channels[channel_id].channel
        data = {
            "type": kind,
            "application": self.app,
            "channel": {"id": channel.id, "name": channel.name, "state": channel.state,
                        "caller": {"number": channel.caller_number}},
            **extra,
        }  # fmt: skip
        self._queue.put_nowait(parse_event(data))

    async def _log(self, method: str, target: str) -> None:
        self.requests.append((method, target))
        self.request_times.append(time.monotonic())
        async with self._changed:
            self._changed.notify_all()
