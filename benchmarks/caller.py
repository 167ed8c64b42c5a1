"""Simulated callers for load: many at once, cheap per frame, timed at the caller's ear.

Each caller is an AudioSocket channel that Asterisk dials to this process and then runs
through the receptionist's inbound dialplan (see Dialer). One clock task sends every
caller's next 20 ms frame (speech when a caller is talking, faint noise otherwise, like
a phone that keeps sending RTP); each leg records the arrival time and peak level of
every frame it hears, twice: when this process read it, and when it reached the leg's
socket (the kernel's stamp). A real caller is a device of its own; these hundred share
the receptionist's two cores, so the read time adds this driver's own delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
import time
import uuid
from array import array
from collections import deque
from dataclasses import dataclass

import numpy as np

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.audiosocket.protocol import (
    HEADER_SIZE,
    AudioFrame,
    Decoder,
    UuidFrame,
    encode_audio,
)

FRAME_S = 0.020
AUDIBLE_PEAK = 1000  # int16 peak: the model's replies are ~9800, the quiet noise ~60
SPEECH_HZ = 440
# The callers' channel formats: slin16 as a wideband (G.722) phone, slin as a call from a
# G.711 trunk, which Asterisk converts to and from the receptionist's leg in both cases.
CALLER_RATES = {"slin16": 16000, "slin": 8000}
SO_TIMESTAMPNS = 35  # Linux; not in the socket module: stamps each segment's arrival
_TIMESPEC = struct.Struct("qq")


@dataclass(frozen=True)
class Rig:
    """How the simulated calls are set up: the receptionist's leg format (its
    `audiosocket_format`; auto is slin24 on this Asterisk), the callers' channel format
    (CALLER_RATES), and on how many phases of the 20 ms frame the callers send: 1, all
    at once on one clock (the rig as first built); 4, spread, as independent phones'
    RTP reaches a PBX."""

    leg: str = "auto"
    caller: str = "slin16"
    phases: int = 1


DEFAULT_RIG = Rig()


def _framed(pcm: bytes, rate: int) -> list[bytes]:
    size = rate * 2 // 50
    return [encode_audio(pcm[i : i + size], rate) for i in range(0, len(pcm), size)]


@functools.cache
def quiet_frames(rate: int, n: int = 50) -> list[bytes]:
    """A second of faint noise, framed: what a phone sends while its caller is silent."""
    noise = np.random.default_rng(7).normal(0, 20, n * rate // 50).astype("<i2")
    return _framed(noise.tobytes(), rate)


def speech(ms: int, rate: int) -> list[bytes]:
    """`ms` of a loud 440 Hz tone (the model's turn detector hears it as speech), framed."""
    return _framed(tone(SPEECH_HZ, ms, rate, amplitude=0.3), rate)


class Leg:
    """The caller's side of one call: what it hears (times, peaks) and what it will say."""

    def __init__(self, ear: Ear) -> None:
        self.ear = ear
        self.uuid: uuid.UUID | None = None
        self.transport: Wire | None = None
        self.heard_at = array("d")  # when this process read each frame (time.monotonic)
        self.reached_at = array("d")  # when it reached the socket (kernel stamp, monotonic)
        self.peaks = array("i")  # its peak level (while `levels` is on)
        # Where in each frame audible sound starts and ends, in seconds from the frame's
        # start (while `levels` is on; 0 for a quiet frame): a resampler in Asterisk can
        # carry a few ms of a cut reply into the next frame, which is not 20 ms of sound.
        self.loud_from = array("d")
        self.loud_to = array("d")
        self.levels = True  # off: record arrival times only (cheaper, for long load runs)
        self.sent = 0  # frames sent
        self.phase = 0  # which of the ear's clock phases this caller sends on
        self.to_say: deque[bytes] = deque()
        self.spoke_until = 0.0  # when the last speech frame ends (send time + 20 ms)
        self._decoder = Decoder()

    def received(self, data: bytes, now: float, reached: float) -> None:
        for frame in self._decoder.feed(data):
            if isinstance(frame, AudioFrame):
                self.heard_at.append(now)
                self.reached_at.append(reached)
                if self.levels:
                    self._level(np.frombuffer(frame.pcm, dtype="<i2"), frame.rate)
            elif isinstance(frame, UuidFrame):
                self.uuid = frame.uuid
                self.ear.arrived(self)

    def read_size(self, frame_size: int) -> int:
        """What to read next so that one read ends one frame: the kernel's stamp is that
        of the last segment read, so a read reaching into the next frame would stamp this
        one with the next one's arrival. (Audio frames are all `frame_size`; after any
        other frame, the next read completes the audio frame it reached into.) Frames
        that queue up unread while this driver is busy are merged by TCP and all carry
        the last one's stamp: the figure then overstates the jitter, never hides it."""
        held = self._decoder.buffered
        return frame_size - held if held < frame_size else frame_size

    def _level(self, x: np.ndarray, rate: int) -> None:
        self.peaks.append(int(max(x.max(), -int(x.min()))) if x.size else 0)
        loud = np.flatnonzero(np.abs(x.astype(np.int32)) >= AUDIBLE_PEAK)
        self.loud_from.append(loud[0] / rate if loud.size else 0.0)
        self.loud_to.append((loud[-1] + 1) / rate if loud.size else 0.0)

    def connection_lost(self) -> None:
        self.ear.legs.discard(self)

    def say(self, frames: list[bytes]) -> None:
        self.to_say.extend(frames)

    def tick(self, now: float) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.to_say:
            self.transport.write(self.to_say.popleft())
            if not self.to_say:
                self.spoke_until = now + FRAME_S
        else:
            quiet = self.ear.quiet
            self.transport.write(quiet[self.sent % len(quiet)])
        self.sent += 1

    def audible_since(self, t: float) -> float | None:
        """When the first audible sound after `t` reached the ear (the arrival of its frame,
        plus where in the frame it starts), or None."""
        # Not strict: frames heard after `levels` was turned off have no peak.
        for at, peak, start in zip(self.heard_at, self.peaks, self.loud_from, strict=False):
            if at > t and peak >= AUDIBLE_PEAK:
                return at + start
        return None

    def audible_until(self, t: float, *, whole_frames: bool = False) -> float:
        """When the last audible sound before `t` ended at the ear; `whole_frames`: the end
        of the last frame carrying any."""
        heard = zip(self.heard_at, self.peaks, self.loud_to, strict=True)
        at, end = max((at, end) for at, peak, end in heard if at < t and peak >= AUDIBLE_PEAK)
        return at + (FRAME_S if whole_frames else end)


class Wire:
    """A leg's socket on the event loop: reads with recvmsg for the kernel's arrival
    stamps (SO_TIMESTAMPNS), one frame per read; writes as a transport would."""

    def __init__(self, sock: socket.socket, leg: Leg, frame_size: int) -> None:
        self._sock = sock
        self._leg = leg
        self._frame_size = frame_size
        self._loop = asyncio.get_running_loop()
        self._unsent = bytearray()
        self._closed = False
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's transports
        leg.transport = self
        self._loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self._sock.recvmsg(
                self._leg.read_size(self._frame_size), socket.CMSG_SPACE(_TIMESPEC.size)
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.close()
            return
        now = time.monotonic()
        reached = now
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = _TIMESPEC.unpack(value)
                reached = now - (time.time() - seconds - nanoseconds / 1e9)  # on our clock
        self._leg.received(data, now, reached)

    def write(self, data: bytes) -> None:
        """Send now, or queue what the socket would not take. A leg Asterisk has hung up
        is closed here, as a transport would: the callers' clock goes on for the rest."""
        if self._closed:
            return
        if not self._unsent:
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.close()
                return
            if sent == len(data):
                return
            self._loop.add_writer(self._sock.fileno(), self._writable)
            data = data[sent:]
        self._unsent += data

    def _writable(self) -> None:
        try:
            sent = self._sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        del self._unsent[:sent]
        if not self._unsent:
            self._loop.remove_writer(self._sock.fileno())

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._loop.remove_writer(self._sock.fileno())
        self._sock.close()
        self._leg.connection_lost()


class Ear:
    """The AudioSocket server every caller's leg connects to, and the clock they speak on."""

    def __init__(self, caller_format: str = "slin16", phases: int = 1) -> None:
        self.caller_format = caller_format
        self.rate = CALLER_RATES[caller_format]
        self.quiet = quiet_frames(self.rate)
        self.phases = phases
        self._arrivals = 0
        self.legs: set[Leg] = set()
        self._waiting: dict[uuid.UUID, asyncio.Future[Leg]] = {}
        self._server: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._clock: asyncio.Task[None] | None = None
        self.port = 0
        self.late_ticks = 0  # clock ticks that ran over a frame late (the driver overloaded)

    async def __aenter__(self) -> Ear:
        self._server = socket.create_server(("127.0.0.1", 0), backlog=256)
        # On the listener: each leg inherits it, and a frame that arrives before the leg is
        # accepted is stamped too.
        self._server.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._server.setblocking(False)
        self.port = self._server.getsockname()[1]
        self._accepting = asyncio.create_task(self._accept(self._server))
        self._clock = asyncio.create_task(self._run_clock())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in (self._clock, self._accepting):
            if task is not None:
                task.cancel()
                # Done before the listener closes: sock_accept still watches its fd.
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._server is not None:
            self._server.close()
        for leg in list(self.legs):
            if leg.transport is not None:
                leg.transport.close()

    async def _accept(self, server: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        frame_size = HEADER_SIZE + self.rate * 2 // 50
        while True:
            sock, _ = await loop.sock_accept(server)
            Wire(sock, Leg(self), frame_size)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def expect(self, key: uuid.UUID) -> asyncio.Future[Leg]:
        future = self._waiting[key] = asyncio.get_running_loop().create_future()
        return future

    def arrived(self, leg: Leg) -> None:
        leg.phase = self._arrivals % self.phases  # callers in turn over the phases
        self._arrivals += 1
        self.legs.add(leg)
        assert leg.uuid is not None
        future = self._waiting.pop(leg.uuid, None)
        if future is not None and not future.done():
            future.set_result(leg)

    async def _run_clock(self) -> None:
        step = FRAME_S / self.phases
        due = time.monotonic()
        phase = 0
        while True:
            due += step
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            if now - due > FRAME_S:
                self.late_ticks += 1
            for leg in list(self.legs):
                if leg.phase == phase:
                    leg.tick(now)
            phase = (phase + 1) % self.phases


class Dialer:
    """Places simulated calls: each caller is an AudioSocket channel that Asterisk dials
    to our ear and then runs through the receptionist's inbound dialplan, as a call from
    a trunk would (one caller channel, one receptionist leg: the load a real call adds)."""

    def __init__(
        self, ari: AriClient, ear: Ear, app: str, business: str, instances: int = 1
    ) -> None:
        self.ari = ari
        self.ear = ear
        # Inherited by the dialplan: route the call to this receptionist (or its instances
        # <app>-1 .. <app>-N, tried in turn) and business.
        self.variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": business}
        if instances > 1:
            self.variables["__RECEPTIONIST_INSTANCES"] = str(instances)

    async def call(self, exten: str = "5551234", timeout: float = 20.0) -> Call:
        """Dial the receptionist; returns once the caller's leg is up (answered)."""
        key = uuid.uuid4()
        call = Call(self.ari, f"bcaller-{key.hex[:12]}")
        leg_up = self.ear.expect(key)
        await self.ari.originate(
            f"AudioSocket/{self.ear.address}/{key}/c({self.ear.caller_format})",
            context="receptionist-inbound",
            extension=exten,
            channel_id=call.channel_id,
            caller_id='"Bench Caller" <+15550002222>',
            variables=self.variables,
        )
        call.leg = await asyncio.wait_for(leg_up, timeout)
        call.answered_at = time.monotonic()  # an AudioSocket channel is up once connected
        return call


class Call:
    """One simulated call: its channel and its leg."""

    def __init__(self, ari: AriClient, channel_id: str) -> None:
        self.ari = ari
        self.channel_id = channel_id
        self.answered_at = 0.0
        self.leg: Leg | None = None

    async def hang_up(self) -> None:
        await self.ari.hangup(self.channel_id)
