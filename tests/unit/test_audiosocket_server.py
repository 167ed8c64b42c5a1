"""The AudioSocket server with real TCP clients on loopback playing Asterisk."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest

from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.protocol import (
    AudioFrame,
    Decoder,
    DtmfFrame,
    Frame,
    HangupFrame,
    Kind,
    encode_audio,
    encode_dtmf,
    encode_uuid,
)
from receptionist.audiosocket.server import (
    AudioSocketClosed,
    AudioSocketConnection,
    AudioSocketServer,
)
from receptionist.core.logs import call_id_var
from tests.waiting import eventually

FRAME = bytes(range(256)) * 2 + bytes(128)  # 640 bytes: 20 ms of slin16


class Peer:
    """A minimal Asterisk side: connects, sends frames, reads what the server sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder()

    @classmethod
    async def connect(cls, server: AudioSocketServer) -> Peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_all(self) -> tuple[list[Frame], bool]:
        """Frames until EOF (and True if EOF came within the timeout)."""
        frames: list[Frame] = []
        try:
            async with asyncio.timeout(2):
                while data := await self.reader.read(65536):
                    frames += self.decoder.feed(data)
        except TimeoutError:
            return frames, False
        return frames, True

    async def closed_by_server(self) -> bool:
        _, eof = await self.read_all()
        return eof

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def server() -> AsyncIterator[AudioSocketServer]:
    async with AudioSocketServer(first_frame_timeout=0.3) as srv:
        yield srv


async def connect_leg(
    server: AudioSocketServer, leg: uuid.UUID | None = None, extra: bytes = b""
) -> tuple[AudioSocketConnection, Peer]:
    leg = leg or uuid.uuid4()
    fut = server.register(leg)
    peer = await Peer.connect(server)
    await peer.send(encode_uuid(leg) + extra)
    conn = await asyncio.wait_for(fut, 2)
    return conn, peer


def reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        str(r.fields.get("reason"))
        for r in caplog.records
        if getattr(r, "event", None)
        in ("audiosocket connection refused", "audiosocket leg dropped")
    ]


async def test_binds_loopback_and_exposes_the_real_port(server: AudioSocketServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.port > 0


async def test_registered_leg_carries_audio_and_dtmf_both_ways(server: AudioSocketServer) -> None:
    conn, peer = await connect_leg(server, extra=encode_audio(FRAME))  # same write as the uuid
    await peer.send(encode_dtmf("7") + encode_audio(FRAME[::-1]))
    received = [await conn.recv() for _ in range(3)]
    assert received == [
        AudioFrame(Kind.SLIN16, 16000, FRAME),
        DtmfFrame("7"),
        AudioFrame(Kind.SLIN16, 16000, FRAME[::-1]),
    ]
    assert conn.rate == 16000

    conn.send_audio(FRAME)
    conn.send_audio(FRAME[:320], rate=8000)
    conn.hangup()
    frames, eof = await peer.read_all()
    assert eof
    assert frames == [
        AudioFrame(Kind.SLIN16, 16000, FRAME),
        AudioFrame(Kind.SLIN8, 8000, FRAME[:320]),
        HangupFrame(),
    ]
    await asyncio.wait_for(conn.wait_closed(), 2)
    assert conn.close_reason == "hangup sent"
    assert [f async for f in conn] == []
    with pytest.raises(AudioSocketClosed):
        conn.send_audio(FRAME)


async def test_iteration_ends_when_asterisk_closes(server: AudioSocketServer) -> None:
    conn, peer = await connect_leg(server)
    await peer.send(encode_audio(FRAME) * 3)
    peer.close()
    frames = [f async for f in conn]
    assert len(frames) == 3
    assert conn.close_reason == "peer closed"
    await asyncio.wait_for(conn.wait_closed(), 2)
    assert not server.connections


async def test_local_close_ends_the_leg(server: AudioSocketServer) -> None:
    conn, peer = await connect_leg(server)
    conn.close("call ended")
    assert await peer.closed_by_server()
    await asyncio.wait_for(conn.wait_closed(), 2)
    assert conn.close_reason == "call ended"


async def test_refuses_empty_audio_before_it_reaches_the_wire(server: AudioSocketServer) -> None:
    conn, peer = await connect_leg(server)
    with pytest.raises(ValueError, match="zero-length"):
        conn.send_audio(b"")
    conn.close()
    frames, _ = await peer.read_all()
    assert frames == []


async def test_unknown_uuid_is_refused_and_other_legs_are_untouched(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    conn, good = await connect_leg(server)
    bad = await Peer.connect(server)
    await bad.send(encode_uuid(uuid.uuid4()) + encode_audio(FRAME))
    assert await bad.closed_by_server()
    assert reasons(caplog) == ["unknown uuid"]
    await good.send(encode_audio(FRAME))
    assert await asyncio.wait_for(conn.recv(), 2) == AudioFrame(Kind.SLIN16, 16000, FRAME)
    assert not conn.closed


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        (encode_audio(FRAME), "first frame is AudioFrame, not uuid"),
        (b"\x42\x00\x00", "protocol error: unknown kind 0x42"),
        (b"\x01\x00\x04abcd", "protocol error: uuid payload is 4 bytes, expected 16"),
        (b"\x12\xff\xff", "protocol error: payload of 65535 bytes exceeds"),
        (b"", "no frame within 0.3s"),
        (b"\x01\x00", "no frame within 0.3s"),  # a header that never completes
    ],
)
async def test_bad_first_frame_is_refused_with_a_reason(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture, first: bytes, reason: str
) -> None:
    peer = await Peer.connect(server)
    await peer.send(first)
    assert await peer.closed_by_server()
    assert len(reasons(caplog)) == 1
    assert reasons(caplog)[0].startswith(reason)


async def test_closed_before_uuid(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    peer = await Peer.connect(server)
    peer.writer.write_eof()
    assert await peer.closed_by_server()
    assert reasons(caplog) == ["closed before sending a uuid"]


async def test_malformed_frame_mid_call_drops_only_that_leg(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    conn_a, peer_a = await connect_leg(server)
    conn_b, peer_b = await connect_leg(server)
    await peer_a.send(encode_audio(FRAME) + b"\x12\x00\x03abc")  # odd-length audio
    assert await peer_a.closed_by_server()
    assert [f async for f in conn_a] == [AudioFrame(Kind.SLIN16, 16000, FRAME)]
    assert conn_a.close_reason is not None
    assert "odd-length audio" in conn_a.close_reason
    assert "odd-length audio" in reasons(caplog)[0]
    await peer_b.send(encode_audio(FRAME))
    assert await asyncio.wait_for(conn_b.recv(), 2) == AudioFrame(Kind.SLIN16, 16000, FRAME)
    conn_b.send_audio(FRAME)


async def test_a_uuid_is_good_for_one_connection(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    leg = uuid.uuid4()
    await connect_leg(server, leg)
    again = await Peer.connect(server)
    await again.send(encode_uuid(leg))
    assert await again.closed_by_server()
    assert reasons(caplog) == ["unknown uuid"]


async def test_timed_out_registration_is_withdrawn(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    leg = uuid.uuid4()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(server.register(leg), 0.01)  # cancels the future
    late = await Peer.connect(server)
    await late.send(encode_uuid(leg))
    assert await late.closed_by_server()
    assert reasons(caplog) == ["unknown uuid"]


async def test_unregister_and_duplicate_register() -> None:
    async with AudioSocketServer() as server:
        leg = uuid.uuid4()
        fut = server.register(leg)
        with pytest.raises(ValueError, match="already registered"):
            server.register(leg)
        server.unregister(leg)
        assert fut.cancelled()
        server.register(leg)  # allowed again once withdrawn
        server.unregister(uuid.uuid4())  # unknown: no-op


async def test_log_lines_of_a_leg_carry_the_call_id(
    server: AudioSocketServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="receptionist.audiosocket")
    seen: list[tuple[str, str | None]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((getattr(record, "event", ""), call_id_var.get()))

    handler = Capture()
    logging.getLogger("receptionist.audiosocket").addHandler(handler)
    try:
        leg = uuid.uuid4()
        fut = server.register(leg, call_id="call-42")
        peer = await Peer.connect(server)
        await peer.send(encode_uuid(leg) + encode_audio(FRAME))
        conn = await asyncio.wait_for(fut, 2)
        peer.close()
        await asyncio.wait_for(conn.wait_closed(), 2)
    finally:
        logging.getLogger("receptionist.audiosocket").removeHandler(handler)
    assert ("audiosocket connected", "call-42") in seen
    assert ("audiosocket disconnected", "call-42") in seen
    assert call_id_var.get() is None  # the server task's context, not ours


async def test_server_close_ends_legs_handshakes_and_registrations() -> None:
    server = AudioSocketServer(first_frame_timeout=30)
    await server.start()
    conn, peer = await connect_leg(server)
    silent = await Peer.connect(server)  # never sends its uuid
    pending = server.register(uuid.uuid4())
    await eventually(lambda: len(server._handshaking) == 1)  # the silent one, taken
    async with asyncio.timeout(1.5):
        await server.close()
    assert conn.close_reason == "server closing"
    assert pending.cancelled()
    assert await peer.closed_by_server()
    assert await silent.closed_by_server()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)


async def test_slow_consumer_drops_oldest_frames() -> None:
    async with AudioSocketServer(rx_queue_frames=4) as server:
        conn, peer = await connect_leg(server)
        frames = [bytes([i]) * 640 for i in range(10)]
        await peer.send(b"".join(encode_audio(f) for f in frames))
        peer.close()
        await asyncio.wait_for(conn.wait_closed(), 2)
        got = [f async for f in conn]
        assert isinstance(got[-1], AudioFrame)
        assert got[-1].pcm == frames[-1]
        assert len(got) == 3  # the end marker takes the fourth slot
        assert conn.dropped_frames == 10 - len(got)


async def test_paced_writer_through_a_leg(server: AudioSocketServer) -> None:
    conn, peer = await connect_leg(server)
    paced = PacedWriter(conn.send_audio)
    runner = asyncio.create_task(paced.run())
    paced.write("greeting", FRAME * 2 + FRAME[:100])
    paced.finish("greeting")
    assert (await paced.wait_done("greeting")).played_ms == 43  # 690 samples
    runner.cancel()
    conn.hangup()
    frames, _ = await peer.read_all()
    assert frames == [
        AudioFrame(Kind.SLIN16, 16000, FRAME),
        AudioFrame(Kind.SLIN16, 16000, FRAME),
        AudioFrame(Kind.SLIN16, 16000, FRAME[:100] + bytes(540)),
        HangupFrame(),
    ]
