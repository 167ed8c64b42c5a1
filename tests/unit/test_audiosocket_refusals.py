"""Refused AudioSocket connections cannot flood the log, nor exhaust file descriptors."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from pathlib import Path

import pytest

from receptionist.audiosocket.protocol import encode_uuid
from receptionist.audiosocket.server import AudioSocketServer
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]


async def junk(port: int, data: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await reader.read()  # until the server closes it
    writer.close()


async def test_a_flood_of_refused_connections_logs_one_line_and_one_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with AudioSocketServer() as server:
        for _ in range(6):
            await asyncio.gather(*(junk(server.port, b"\x42\x00\x00") for _ in range(50)))
        await asyncio.gather(*(junk(server.port, encode_uuid(uuid.uuid4())) for _ in range(20)))
        assert len(refusal_lines(caplog)) == 1  # the first, in full
    lines = refusal_lines(caplog)
    assert len(lines) == 2, lines
    assert "count=319" in lines[1]
    assert "protocol error: 299" in lines[1] and "unknown uuid: 20" in lines[1]


async def test_connections_that_do_not_identify_are_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with AudioSocketServer(max_handshakes=4) as server:
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(4)]
        # The server has taken all four and waits for their first frame.
        await eventually(lambda: len(server._handshaking) == 4)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 2) == b""  # closed at once
        writer.close()
        for _, w in idle:
            w.close()
    assert any("too many unidentified connections" in line for line in refusal_lines(caplog))


async def test_running_out_of_file_descriptors_is_survived_without_tracebacks() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.unit.audiosocket_fd_child", cwd=REPO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    try:
        port = int(await asyncio.wait_for(child.stdout.readline(), 20))
        # Far more connections than the child has descriptors; they sit there silent.
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(120)]
        # The child's accept loop runs into the limit and says so.
        log_lines = [await asyncio.wait_for(child.stderr.readline(), 15)]
        while b"out of file descriptors" not in log_lines[-1]:
            assert log_lines[-1], b"".join(log_lines).decode()  # the child ended first
            log_lines.append(await asyncio.wait_for(child.stderr.readline(), 15))
        for _, writer in held:
            writer.close()
        child.stdin.write(b"next\n")
        leg = uuid.UUID((await asyncio.wait_for(child.stdout.readline(), 10)).decode().strip())
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode_uuid(leg))
        assert await asyncio.wait_for(child.stdout.readline(), 15) == b"connected\n"
        writer.close()
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 10)
    log = (b"".join(log_lines) + await child.stderr.read()).decode()
    assert "Traceback" not in log
    assert "out of file descriptors" in log
    assert log.count("refused") <= 3, log
