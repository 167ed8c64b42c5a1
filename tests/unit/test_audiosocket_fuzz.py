"""100k malformed and odd AudioSocket inputs through the server's connection handler.

Each input is what one TCP connection sends before closing. They are fed to the handler
asyncio.start_server calls, through in-memory streams, so the run takes seconds: every
input must end in a refusal or a leg that ends cleanly, never an exception, and the log
stays bounded however many inputs are refused.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import uuid
from typing import Any

import pytest

from receptionist.audiosocket.protocol import Kind, encode_audio, encode_dtmf, encode_uuid
from receptionist.audiosocket.server import AudioSocketServer

INPUTS = 100_000
REGISTERED_EVERY = 500  # one input in so many carries a UUID we issued


class _Transport:
    def get_write_buffer_size(self) -> int:
        return 0

    def abort(self) -> None:
        pass

    def get_protocol(self) -> None:
        return None  # no LegStreamProtocol: every byte goes through the StreamReader


class MemoryWriter:
    """The part of asyncio.StreamWriter the server uses, writing into a list."""

    transport = _Transport()

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


def _frame(kind: int, payload: bytes, declared: int | None = None) -> bytes:
    length = len(payload) if declared is None else declared
    return struct.pack(">BH", kind, length & 0xFFFF) + payload


def make_input(rng: random.Random, leg: uuid.UUID | None) -> bytes:
    """One connection's bytes: junk, near-misses of valid frames, or a real leg with junk."""
    junk = rng.randbytes(rng.randrange(0, 48))
    if leg is not None:
        frames = [encode_audio(rng.randbytes(640)), encode_dtmf(rng.choice("0123456789*#"))]
        return encode_uuid(leg) + b"".join(rng.sample(frames, k=2)) + junk
    choice = rng.randrange(6)
    if choice == 0:
        return junk
    if choice == 1:  # a well-formed UUID nobody issued
        return encode_uuid(uuid.UUID(bytes=rng.randbytes(16))) + junk
    if choice == 2:  # a known kind whose length lies about its payload
        kind = rng.choice([int(k) for k in Kind])
        return _frame(kind, rng.randbytes(rng.randrange(0, 32)), rng.randrange(0, 70000))
    if choice == 3:  # an unknown kind
        return _frame(rng.choice([2, 4, 0x19, 0x7F, 0xFE]), rng.randbytes(rng.randrange(0, 16)))
    if choice == 4:  # audio before any UUID
        return encode_audio(rng.randbytes(640)) + junk
    return encode_uuid(uuid.uuid4())[: rng.randrange(1, 19)]  # cut short


async def test_fuzzed_connections_are_refused_quietly_and_never_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(11)
    server = AudioSocketServer(first_frame_timeout=1.0)
    server.refusals.window = 3600  # one summary for the whole run, however slow the machine
    task = asyncio.current_task()
    assert task is not None
    legs = 0
    for index in range(INPUTS):
        leg = None
        if index % REGISTERED_EVERY == 0:
            leg = uuid.uuid4()
            server.register(leg)
            legs += 1
        reader = asyncio.StreamReader()
        reader.feed_data(make_input(rng, leg))
        reader.feed_eof()
        writer = MemoryWriter()
        await server._on_client(reader, writer)  # type: ignore[arg-type]
        assert writer.closed
        # The server only ever sends a hang-up (or audio): never anything Asterisk rejects.
        assert all(chunk[0] in (0x00, *[int(k) for k in Kind]) for chunk in writer.sent)
    await server.close()
    messages = [r.getMessage() for r in caplog.records]
    refused = [m for m in messages if "refused" in m]
    assert len(refused) == 2, refused  # the first in full, then one summary
    connected = sum(m.startswith("audiosocket connected") for m in messages)
    # A UUID we issued followed by garbage in the same read is refused too.
    assert 0 < connected <= legs
    assert f"count={INPUTS - connected - 1} " in refused[1]
    # Every other line belongs to a leg we issued (connected, format, dropped, ended).
    assert len(messages) <= 2 + 4 * legs
