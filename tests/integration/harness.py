"""Test-side telephony: an ARI event watcher and AudioSocket peers with timestamps.

A simulated caller lives entirely inside Asterisk: a Local channel dials into the
inbound dialplan; its other half enters the test app `test-caller`, where it is
bridged with a test-owned AudioSocket leg. Through that leg the test speaks
(sends audio) and listens (records what the caller hears, with arrival times).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from receptionist.ari import AriClient, Event, StasisStart
from receptionist.audiosocket.protocol import AudioFrame, Decoder, UuidFrame, encode_audio
from tests.waiting import eventually  # noqa: F401 (the integration tests take it from here)

CALLER_APP = "test-caller"
AUDIBLE = 300  # peak sample level: the tones tests play are far louder, silence is 0
CALLER_ID = '"Test Caller" <+15550001111>'
FRAME_MS = 20


class EventWatcher:
    """Collects every ARI event for some apps; tests wait for the ones they expect."""

    def __init__(self, ari: AriClient, apps: str) -> None:
        self.ari = ari
        self.apps = apps
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventWatcher:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._connected.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async for event in self.ari.events(self.apps, connected=self._connected):
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = 10.0, *, after: int = 0
    ) -> Event:
        """The first event (from index `after`) matching `predicate`."""

        def find() -> Event | None:
            return next((e for e in self.events[after:] if predicate(e)), None)

        async with self._changed:
            found = await asyncio.wait_for(
                self._changed.wait_for(lambda: find() is not None), timeout
            )
            del found
            event = find()
            assert event is not None
            return event

    async def stasis_start(self, app: str, timeout: float = 10.0, **match: str) -> StasisStart:
        def ok(e: Event) -> bool:
            if not isinstance(e, StasisStart) or e.application != app:
                return False
            return all(getattr(e.channel, k) == v for k, v in match.items())

        event = await self.wait_for(ok, timeout)
        assert isinstance(event, StasisStart)
        return event


async def reached_operator(
    ari: AriClient, watcher: EventWatcher, app: str, people_app: str, timeout: float = 20.0
) -> list[StasisStart]:
    """Every stand-in operator call so far that came from calls routed to `app`.

    Other tests' fallbacks may reach the operator too (the prompt plays first), so a
    stand-in counts only if it inherited RECEPTIONIST_APP == `app` from its caller.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    found: dict[str, StasisStart] = {}
    checked: set[str] = set()
    while not found:
        remaining = deadline - asyncio.get_running_loop().time()
        for event in list(watcher.events):
            if (
                isinstance(event, StasisStart)
                and event.application == people_app
                and event.channel.id not in checked
            ):
                checked.add(event.channel.id)
                if await ari.get_variable(event.channel.id, "RECEPTIONIST_APP") == app:
                    found[event.channel.id] = event
        if found:
            break
        mark = len(watcher.events)
        await watcher.wait_for(lambda e: True, timeout=max(0.1, remaining), after=mark)
    return list(found.values())


@dataclass
class AudioPeer:
    """One accepted AudioSocket connection: what arrived, when, and a way to send."""

    writer: asyncio.StreamWriter
    uuid: uuid.UUID | None = None
    frames: list[tuple[float, AudioFrame]] = field(default_factory=list)
    kinds_in_order: list[int] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _scanned: int = 0
    _heard_at: float = 0.0
    _speaking: bool = False

    async def breathe(self) -> None:
        """Silence every 20 ms while the test sends nothing, as a phone's RTP never stops.

        Asterisk's AudioSocket channel can be asked to read before a frame has come, and
        waits for one with its lock held; ARI's lookups of every channel by id wait on
        that lock. A mouth that goes quiet would stall the PBX's ARI.
        """
        frame = encode_audio(bytes(16000 * FRAME_MS // 1000 * 2), 16000)
        deadline = time.monotonic()
        while not self.writer.is_closing():
            if not self._speaking:
                self.writer.write(frame)
            deadline += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))

    def audio(self, since: float = 0.0) -> bytes:
        return b"".join(f.pcm for t, f in self.frames if t >= since)

    async def wait_frames(
        self,
        heard: Callable[[AudioFrame], bool],
        count: int,
        *,
        start: int = 0,
        timeout: float = 20.0,
    ) -> int:
        """Wait until `count` frames from index `start` on satisfy `heard` (e.g. carry a
        tone); returns the index just past the last of them."""
        checked, found = start, 0

        def enough() -> bool:
            nonlocal checked, found
            while found < count and checked < len(self.frames):
                found += heard(self.frames[checked][1])
                checked += 1
            return found >= count

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(enough), timeout)
        return checked

    def last_heard(self) -> float:
        """When the last audible frame arrived (0 before any)."""
        while self._scanned < len(self.frames):
            at, frame = self.frames[self._scanned]
            if np.abs(np.frombuffer(frame.pcm, dtype="<i2")).max(initial=0) >= AUDIBLE:
                self._heard_at = at
            self._scanned += 1
        return self._heard_at

    async def wait_quiet(self, quiet_s: float = 0.3, timeout: float = 20.0) -> None:
        """Wait until nothing audible has arrived for `quiet_s`: the end of what was
        playing. (Asterisk sends silence, or nothing, while nobody speaks.)"""
        deadline = time.monotonic() + timeout
        async with self.arrived:
            while True:
                left = self.last_heard() + quiet_s - time.monotonic()
                if left <= 0:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"audio still arriving after {timeout:g} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.arrived.wait(), left)

    async def send_paced(self, pcm: bytes, rate: int = 16000) -> None:
        """Send `pcm` as 20 ms frames against an absolute clock, like a real phone."""
        step = rate * FRAME_MS // 1000 * 2
        deadline = time.monotonic()
        self._speaking = True
        try:
            for offset in range(0, len(pcm) - step + 1, step):
                self.writer.write(encode_audio(pcm[offset : offset + step], rate))
                await self.writer.drain()
                deadline += FRAME_MS / 1000
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        finally:
            self._speaking = False


class AudioSocketPeer:
    """A minimal AudioSocket server for tests (built on the project's codec)."""

    def __init__(self) -> None:
        self.peers: dict[uuid.UUID, AudioPeer] = {}
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._breaths: list[asyncio.Task[None]] = []
        self.port = 0

    async def __aenter__(self) -> AudioSocketPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            for peer in self.peers.values():
                peer.writer.close()
        for task in self._breaths:
            task.cancel()
        await asyncio.gather(*self._breaths, return_exceptions=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def wait_peer(self, key: uuid.UUID, timeout: float = 5.0) -> AudioPeer:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: key in self.peers), timeout)
        return self.peers[key]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = Decoder()
        peer = AudioPeer(writer)
        while data := await reader.read(4096):
            now = time.monotonic()
            for frame in decoder.feed(data):
                if isinstance(frame, UuidFrame):
                    peer.uuid = frame.uuid
                    peer.kinds_in_order.append(1)
                    self._breaths.append(asyncio.create_task(peer.breathe()))
                    async with self._arrived:
                        self.peers[frame.uuid] = peer
                        self._arrived.notify_all()
                elif isinstance(frame, AudioFrame):
                    peer.kinds_in_order.append(int(frame.kind))
                    peer.frames.append((now, frame))
            async with peer.arrived:
                peer.arrived.notify_all()
        peer.closed.set()
        async with peer.arrived:
            peer.arrived.notify_all()


async def attach_audio_leg(
    ari: AriClient,
    watcher: EventWatcher,
    audio: AudioSocketPeer,
    channel_id: str,
    app: str,
    fmt: str = "slin16",
) -> tuple[str, AudioPeer]:
    """Bridge `channel_id` (in Stasis in `app`) with a new AudioSocket leg to `audio`.

    The media channel enters Stasis a moment after the POST returns; adding it to
    the bridge before its own StasisStart can silently fail, so we wait for it.
    """
    key = uuid.uuid4()
    bridge = await ari.create_bridge("mixing")
    await ari.add_channel(bridge.id, channel_id)
    media_id = f"media-{key.hex[:12]}"
    await ari.external_media(
        app=app, host=audio.address, data=str(key), fmt=fmt, channel_id=media_id
    )
    await watcher.stasis_start(app, id=media_id)
    await ari.add_channel(bridge.id, media_id)
    return bridge.id, await audio.wait_peer(key)


@dataclass
class Call:
    """A simulated caller: the Local;1 half in `test-caller`, with its ear and mouth."""

    caller_id: str  # Local;1, held by the test
    dialplan_id: str  # Local;2, which runs the inbound dialplan
    bridge_id: str | None = None
    peer: AudioPeer | None = None
    answered_at: float = 0.0  # when the caller side saw the answer


async def place_call(
    ari: AriClient,
    watcher: EventWatcher,
    audio: AudioSocketPeer | None,
    exten: str,
    *,
    context: str = "receptionist-inbound",
    variables: dict[str, str] | None = None,
    answer_timeout: float = 10.0,
) -> Call:
    """Dial `exten@context` from a simulated caller. With `audio`, wait for the answer
    and attach the caller's ear/mouth leg; without, return as soon as it dials."""
    key = uuid.uuid4().hex[:12]
    call = Call(caller_id=f"caller-{key}", dialplan_id=f"dialplan-{key}")
    await ari.originate(
        f"Local/{exten}@{context}/n",
        app=CALLER_APP,
        app_args="caller",
        channel_id=call.caller_id,
        other_channel_id=call.dialplan_id,
        caller_id=CALLER_ID,
        variables=variables,
    )
    if audio is not None:
        await watcher.stasis_start(CALLER_APP, timeout=answer_timeout, id=call.caller_id)
        call.answered_at = time.monotonic()
        call.bridge_id, call.peer = await attach_audio_leg(
            ari, watcher, audio, call.caller_id, CALLER_APP
        )
    return call
