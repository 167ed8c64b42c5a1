"""CPU per 20 ms frame of the audio bridge, each direction, through the project's real code.

    python -m benchmarks.bridge_path [--quick]

caller -> model: AudioSocket bytes -> leg decode -> the call's caller-audio loop (VAD,
16k -> 24k) -> RealtimeSession.send_audio -> its send loop -> the SDK connection.
model -> caller: a `response.output_audio.delta` text -> the session's receive loop
(parse, translate) -> Conversation (24k -> 16k) -> PacedWriter -> leg.send_audio.

Only the two ends are stand-ins: the transports under the SDK's websocket connection
(websockets' own, framing and masking included) and under the leg are in memory, so
syscalls are not counted (the capacity
benchmark through Asterisk counts them). Frames go through one at a time, each waited
for at the far end, so every queue hop and task switch of a live call is counted. The
writer's clock is virtual (its sleeps return at once), so its timer cost is not.
Figures are process CPU time per frame; the stage figures are the same steps called
directly, to show where the time goes.

The end-to-end figure (benchmarks/bridge_e2e.py) has real sockets instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pybase64
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from websockets.asyncio.connection import Connection
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from benchmarks.bridge_e2e import RATE, end_to_end_us, no_dtmf
from benchmarks.quiet_call import audio_only_conversation
from benchmarks.report import Figure, standalone
from receptionist.audio.resample import caller_to_model, model_to_caller
from receptionist.audio.tones import silence, voiced
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.connection import AudioSocketConnection, LegStreamProtocol
from receptionist.audiosocket.protocol import Decoder, encode_audio
from receptionist.call.caller_audio import pump_caller_audio
from receptionist.realtime import RealtimeSession, SessionConfig
from receptionist.realtime.wire import append_audio, parse_server_event

FRAME_BYTES = RATE // 50 * 2
DELTA_MS = 40  # audio per model delta, as the API sends it
TARGET_US = 100.0  # 0.5 % of a core per call: 100 µs per 20 ms, both directions

_SESSION = {"type": "realtime", "id": "sess_bench", "object": "realtime.session"}


class _Socket:
    """The websocket under the SDK connection: websockets' own client connection (framing,
    masking, message assembly) on an in-memory transport. What the model sends is fed to
    it as server frames; what it writes is counted."""

    def __init__(self) -> None:
        protocol = ClientProtocol(parse_uri("ws://model.bench/v1/realtime"), state=State.OPEN)
        self.connection = Connection(protocol)
        self.transport = _Transport()
        self.connection.connection_made(self.transport)
        for i, kind in enumerate(("session.created", "session.updated")):
            self.feed(json.dumps({"type": kind, "event_id": f"event_{i}", "session": _SESSION}))

    def feed(self, text: str) -> None:
        """One message from the model, as the server frames it (unmasked)."""
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
        self.connection.data_received(frame)


class _Client:
    """Enough of AsyncOpenAI for RealtimeSession.connect(): a real SDK connection on `socket`."""

    def __init__(self, socket: _Socket) -> None:
        conn = AsyncRealtimeConnection(socket.connection)

        async def enter() -> AsyncRealtimeConnection:
            return conn

        self.realtime = SimpleNamespace(connect=lambda model: SimpleNamespace(enter=enter))

    async def close(self) -> None:
        return None


class _Transport(asyncio.Transport):
    """The leg's socket: counts writes, wakes the benchmark after `frames` of them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.want = 0
        self.waiter: asyncio.Future[None] | None = None
        self.protocol: asyncio.BaseProtocol = asyncio.Protocol()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1
        if self.waiter is not None and self.writes >= self.want and not self.waiter.done():
            self.waiter.set_result(None)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None  # nothing is ever buffered


class _Detector(SpeechDetector):
    """The call's VAD, also telling the benchmark that a frame reached the caller loop (the
    resampler holds audio back, so not every frame makes an append of its own)."""

    waiter: asyncio.Future[None] | None = None

    def process(self, pcm: bytes) -> bool:
        speaking = super().process(pcm)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        return speaking


class _Clock:
    """The writer's clock: sleeping moves time on at once, so frames go out back to back."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def _leg(transport: _Transport) -> tuple[AudioSocketConnection, LegStreamProtocol]:
    """A leg on `transport`, as the server makes it: bytes go to the protocol (and, once
    the leg reads them directly, straight to it)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = LegStreamProtocol(reader)
    transport.protocol = protocol
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return AudioSocketConnection(uuid.uuid4(), reader, writer, Decoder(), peer="bench"), protocol


async def _session(socket: _Socket) -> RealtimeSession:
    config = SessionConfig(instructions="Benchmark.", tools=(), voice="cedar")
    session = RealtimeSession(config, api_key="sk-bench", client=cast(Any, _Client(socket)))
    await session.connect()
    return session


def caller_frames(count: int = 50) -> list[bytes]:
    """A second of caller audio as 20 ms frames: speech-like sound, then silence."""
    pcm = voiced(600, RATE) + silence(400, RATE)
    return [pcm[i : i + FRAME_BYTES] for i in range(0, count * FRAME_BYTES, FRAME_BYTES)]


def delta_messages(count: int = 25) -> list[str]:
    """Model audio as the API sends it: 40 ms of 24 kHz pcm16 per delta, base64 in JSON."""
    pcm = voiced(count * DELTA_MS, 24000)
    step = 24000 * DELTA_MS // 1000 * 2
    return [
        json.dumps(
            {
                "type": "response.output_audio.delta",
                "event_id": f"event_{i:08d}",
                "response_id": "resp_bench",
                "item_id": "item_bench",
                "output_index": 0,
                "content_index": 0,
                "delta": base64.b64encode(pcm[i * step : (i + 1) * step]).decode("ascii"),
            }
        )
        for i in range(count)
    ]


async def caller_to_model_us(frames: int) -> float:
    """CPU per caller frame, AudioSocket bytes in to the SDK connection's websocket send."""
    socket = _Socket()
    session = await _session(socket)
    leg, protocol = _leg(_Transport())
    leg_task = asyncio.create_task(leg._run([]))
    vad = _Detector(RATE)
    loop_task = asyncio.create_task(pump_caller_audio(leg, session, vad, RATE, no_dtmf))
    wire = [encode_audio(pcm, RATE) for pcm in caller_frames()]
    loop = asyncio.get_running_loop()

    async def push(n: int) -> None:
        for i in range(n):
            vad.waiter = loop.create_future()
            protocol.data_received(wire[i % len(wire)])
            await vad.waiter
        for _ in range(5):  # let the last append through the send loop
            await asyncio.sleep(0)

    try:
        await push(200)  # warm up
        start = time.process_time()
        await push(frames)
        return (time.process_time() - start) / frames * 1e6
    finally:
        loop_task.cancel()
        protocol.eof_received()
        await asyncio.gather(loop_task, leg_task, return_exceptions=True)
        await session.close()


async def model_to_caller_us(deltas: int) -> float:
    """CPU per 20 ms frame played, a delta's JSON text in to the frames written to the leg."""
    socket = _Socket()
    session = await _session(socket)
    transport = _Transport()
    leg, protocol = _leg(transport)
    leg_task = asyncio.create_task(leg._run([]))
    clock = _Clock()

    def send(frame: bytes) -> None:
        leg.send_audio(frame, RATE)

    writer = PacedWriter(send, rate=RATE, clock=clock, sleep=clock.sleep)
    conversation = audio_only_conversation(session, writer, RATE)
    tasks = [asyncio.create_task(writer.run()), asyncio.create_task(conversation.run())]
    messages = delta_messages()
    frames_per_delta = DELTA_MS // 20
    loop = asyncio.get_running_loop()

    async def push(n: int) -> None:
        # The resampler and the writer hold a little audio back: wait for all but that.
        base = transport.writes
        for i in range(n):
            transport.waiter = loop.create_future()
            transport.want = base + frames_per_delta * (i + 1) - 3
            socket.feed(messages[i % len(messages)])
            await transport.waiter

    try:
        await push(100)  # warm up (and fill the resampler and the send-ahead)
        start = time.process_time()
        await push(deltas)
        return (time.process_time() - start) / (deltas * frames_per_delta) * 1e6
    finally:
        for task in tasks:
            task.cancel()
        protocol.eof_received()
        await asyncio.gather(*tasks, leg_task, return_exceptions=True)
        await session.close()


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(3):  # best of three: the figure is the cost, not the noise
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n)
    return best * 1e6


def stage_figures(n: int) -> list[Figure]:
    """The steps of each direction called directly (no tasks, no queues)."""
    pcm = caller_frames()[5]
    wire = encode_audio(pcm, RATE)
    decoder, vad, up = Decoder(), SpeechDetector(RATE), caller_to_model(RATE)
    pcm24 = up.process(pcm) or up.process(pcm)
    audio = base64.b64encode(pcm24).decode("ascii")
    message = delta_messages(1)[0]
    conn = AsyncRealtimeConnection(cast(Any, None))  # only its parser is used
    down = model_to_caller(RATE)
    delta = json.loads(message)["delta"]
    model_pcm = base64.b64decode(delta)

    def stage(name: str, fn: Callable[[], object], per: float = 1.0, note: str = "") -> Figure:
        return Figure("micro", f"bridge stage: {name}", _per_call_us(fn, n) / per, "µs", None, note)

    half = "per 20 ms: half of one 40 ms delta"
    return [
        stage("c2m decode AudioSocket frame", lambda: decoder.feed(wire)),
        stage("c2m VAD", lambda: vad.process(pcm)),
        stage("c2m resample 16k->24k", lambda: up.process(pcm)),
        stage("c2m append event text (base64 included)", lambda: append_audio(pcm24)),
        stage(
            "c2m json.dumps of the append event",
            lambda: json.dumps({"type": "input_audio_buffer.append", "audio": audio}),
            note="reference: not on the path",
        ),
        stage(
            "m2c SDK parse_event of a delta",
            lambda: conn.parse_event(message),
            2,
            "reference: not on the path; " + half,
        ),
        stage("m2c parse a delta", lambda: parse_server_event(conn, message), 2, half),
        stage("m2c base64 decode", lambda: pybase64.b64decode(delta, validate=True), 2, half),
        stage("m2c resample 24k->16k", lambda: down.process(model_pcm), 2, half),
        stage("m2c encode AudioSocket frame", lambda: encode_audio(pcm, RATE)),
    ]


def run(quick: bool = False) -> list[Figure]:
    frames = 1000 if quick else 5000
    calls, seconds = (10, 4.0) if quick else (50, 10.0)

    async def pipelines() -> tuple[float, float, tuple[float, float]]:
        c2m = min([await caller_to_model_us(frames) for _ in range(3)])
        m2c = min([await model_to_caller_us(frames // 2) for _ in range(3)])
        return c2m, m2c, await end_to_end_us(calls, seconds)

    c2m, m2c, (e2e, e2e_kernel) = asyncio.run(pipelines())
    note = "process CPU per 20 ms frame, real tasks and queues, in-memory sockets"
    return [
        Figure("micro", "bridge caller->model per frame", c2m, "µs", None, note),
        Figure("micro", "bridge model->caller per frame", m2c, "µs", None, note),
        Figure(
            "micro",
            "bridge both directions per 20 ms",
            c2m + m2c,
            "µs",
            f"<= {TARGET_US:g}",
            "0.5 % of a core per call",
        ),
        Figure(
            "micro",
            f"bridge end to end per call per 20 ms, {calls} calls",
            e2e,
            "µs",
            f"<= {TARGET_US:g}",
            "real sockets; callers and model in other processes; model always speaking",
        ),
        Figure("micro", f"bridge end to end, {calls} calls: of which kernel", e2e_kernel, "µs"),
        *stage_figures(500 if quick else 3000),
    ]


if __name__ == "__main__":
    standalone("bridge_path", __doc__ or "", run, "fewer frames, 10 calls end to end")
