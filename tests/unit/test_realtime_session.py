"""RealtimeSession lifecycle against the fake realtime server: configuration, refusals,
drops, mid-call updates. Every test also checks that all we sent was valid GA protocol."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from openai.types.realtime import ResponseCreateEvent, SessionUpdateEvent

from receptionist.realtime import (
    ModelError,
    RealtimeError,
    RealtimeSession,
    RealtimeUnavailable,
    ResponseDone,
    SessionClosed,
    SessionConfig,
)
from tests.fakes.realtime_connection import FakeConnection
from tests.fakes.realtime_helpers import read_until
from tests.fakes.realtime_server import FakeRealtimeServer, Script
from tests.fakes.tones import silence

API_KEY = "sk-test-not-a-real-key"
TOOLS = [
    {
        "type": "function",
        "name": "get_business_hours",
        "description": "Opening hours for a day.",
        "parameters": {
            "type": "object",
            "properties": {"day": {"type": "string"}},
            "required": ["day"],
        },
    }
]
CONFIG = SessionConfig(instructions="You are the receptionist.", tools=TOOLS, voice="cedar")


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer(api_key=API_KEY) as srv:
        yield srv
        assert srv.invalid_events == []
        assert srv.invalid_sent == []


@pytest.fixture
async def session(server: FakeRealtimeServer) -> AsyncIterator[RealtimeSession]:
    s = RealtimeSession(CONFIG, api_key=API_KEY, websocket_base_url=server.url)
    yield s
    await s.close()


async def test_connect_sends_full_valid_session_update(
    server: FakeRealtimeServer, session: RealtimeSession
) -> None:
    await session.connect(timeout=2)

    assert server.connection.model == "gpt-realtime"
    (update,) = server.events("session.update")
    cfg = update.session
    assert cfg.type == "realtime"
    assert cfg.instructions == "You are the receptionist."
    assert cfg.output_modalities == ["audio"]
    assert [t.name for t in cfg.tools] == ["get_business_hours"]
    assert cfg.tools[0].parameters["required"] == ["day"]
    audio_in = cfg.audio.input
    assert (audio_in.format.type, audio_in.format.rate) == ("audio/pcm", 24000)
    vad = audio_in.turn_detection
    assert vad.type == "server_vad"
    assert 0 < vad.threshold < 1 and vad.silence_duration_ms >= 200
    assert vad.create_response is True and vad.interrupt_response is True
    assert audio_in.transcription.model == "gpt-4o-mini-transcribe"
    assert audio_in.noise_reduction.type == "near_field"
    assert (cfg.audio.output.format.type, cfg.audio.output.format.rate) == ("audio/pcm", 24000)
    assert cfg.audio.output.voice == "cedar"


async def test_wrong_api_key_is_unavailable_fast_and_key_never_logged(
    server: FakeRealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = RealtimeSession(CONFIG, api_key="sk-wrong-key", websocket_base_url=server.url)
    # A long timeout: failing with the HTTP status (not "within 30s") shows it did not wait.
    with pytest.raises(RealtimeUnavailable, match="HTTP 401") as caught:
        await s.connect(timeout=30)
    assert server.rejected_handshakes == [401]
    assert "sk-wrong-key" not in str(caught.value)
    assert "sk-wrong-key" not in caplog.text
    await s.close()  # harmless after a failed connect


async def test_api_key_not_logged_on_success(
    server: FakeRealtimeServer, session: RealtimeSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await session.connect(timeout=2)
    await session.close()
    assert "realtime session ready" in caplog.text
    assert API_KEY not in caplog.text


async def test_http_503_is_unavailable(
    server: FakeRealtimeServer, session: RealtimeSession
) -> None:
    server.refuse_status = 503
    with pytest.raises(RealtimeUnavailable, match="HTTP 503"):
        await session.connect(timeout=2)


async def test_nothing_listening_is_unavailable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = RealtimeSession(CONFIG, api_key=API_KEY, websocket_base_url=f"ws://127.0.0.1:{port}/v1")
    with pytest.raises(RealtimeUnavailable, match="unreachable"):
        await s.connect(timeout=2)


async def test_stalled_handshake_times_out() -> None:
    async with FakeRealtimeServer(handshake_delay_s=1.0) as server:
        s = RealtimeSession(CONFIG, api_key=API_KEY, websocket_base_url=server.url)
        with pytest.raises(RealtimeUnavailable, match=r"within 0\.2s"):
            await s.connect(timeout=0.2)


class RefusesSession(Script):
    async def on_connect(self, conn: FakeConnection) -> None:
        await conn.send_error("Model not available", code="model_not_found")


async def test_error_instead_of_session_created_is_unavailable(
    server: FakeRealtimeServer, session: RealtimeSession
) -> None:
    server.script = RefusesSession()
    with pytest.raises(RealtimeUnavailable, match="model_not_found"):
        await session.connect(timeout=2)


@pytest.mark.parametrize("abrupt", [True, False], ids=["tcp-abort", "close-1011"])
async def test_mid_call_drop_ends_with_session_closed(
    server: FakeRealtimeServer, session: RealtimeSession, abrupt: bool
) -> None:
    await session.connect(timeout=2)
    session.send_audio(silence(0.1))
    await server.wait_for("input_audio_buffer.append")

    await server.drop(abrupt=abrupt)

    closed, _ = await read_until(session, SessionClosed)
    assert closed.reason.startswith("connection lost")
    assert ("1006" if abrupt else "1011") in closed.reason
    # Sticky, and sending afterwards is a quiet no-op rather than an exception.
    assert await session.next_event() == closed
    session.send_audio(silence(0.02))
    session.request_response()
    assert [e async for e in session.events()] == [closed]


async def test_close_ends_events(session: RealtimeSession) -> None:
    await session.connect(timeout=2)
    await session.close()
    assert [e async for e in session] == [SessionClosed("closed")]
    await session.close()  # idempotent


async def test_update_session_waits_for_ack_and_sends_only_changes(
    server: FakeRealtimeServer, session: RealtimeSession
) -> None:
    await session.connect(timeout=2)
    async with asyncio.timeout(2):
        await session.update_session(instructions="Offer to take a message.", tools=[])

    _, second = server.events("session.update")
    assert second.session.instructions == "Offer to take a message."
    assert second.session.tools == []
    # The voice cannot change after audio has been produced: a partial update must omit it.
    assert second.session.audio is None
    assert server.connection.session["audio"]["output"]["voice"] == "cedar"
    assert session.config.instructions == "Offer to take a message."


class RejectsSecondUpdate(Script):
    async def on_session_update(self, conn: FakeConnection, event: SessionUpdateEvent) -> None:
        if len(conn.server.events("session.update")) == 1:
            await conn.send_session_updated()
        else:
            raw = {"event_id": event.event_id}
            await conn.send_error("Invalid tools", code="invalid_value", client_event=raw)


async def test_rejected_update_raises(server: FakeRealtimeServer, session: RealtimeSession) -> None:
    server.script = RejectsSecondUpdate()
    await session.connect(timeout=2)
    with pytest.raises(RealtimeError, match="Invalid tools"):
        async with asyncio.timeout(2):
            await session.update_session(tools=[])
    # The rejection belonged to update_session: the call layer sees no ModelError for it.
    session.request_response()
    _, seen = await read_until(session, ResponseDone)
    assert not any(isinstance(e, ModelError) for e in seen)


class SendsServerError(Script):
    async def on_response_create(self, conn: FakeConnection, event: ResponseCreateEvent) -> None:
        await conn.send_error("The server had an error", code="server_error")


async def test_server_error_becomes_model_error(
    server: FakeRealtimeServer, session: RealtimeSession
) -> None:
    server.script = SendsServerError()
    await session.connect(timeout=2)
    session.request_response()
    error, _ = await read_until(session, ModelError)
    assert error == ModelError(message="The server had an error", code="server_error")


async def test_connect_twice_is_an_error(session: RealtimeSession) -> None:
    await session.connect(timeout=2)
    with pytest.raises(RealtimeError):
        await session.connect(timeout=2)


async def test_odd_length_audio_is_rejected(session: RealtimeSession) -> None:
    await session.connect(timeout=2)
    with pytest.raises(ValueError):
        session.send_audio(b"\x00\x01\x02")


async def test_events_end_after_a_failed_connect(server: FakeRealtimeServer) -> None:
    server.refuse_status = 503
    s = RealtimeSession(CONFIG, api_key=API_KEY, websocket_base_url=server.url)
    with pytest.raises(RealtimeUnavailable):
        await s.connect(timeout=2)
    assert [e async for e in s] == [SessionClosed("connect failed")]
    with pytest.raises(RealtimeError):
        await s.update_session(instructions="x")


async def test_a_bug_in_event_handling_ends_the_session_loudly(
    server: FakeRealtimeServer, session: RealtimeSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await session.connect(timeout=2)

    def broken(event: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(session._state, "translate", broken)
    session.request_response()
    closed, _ = await read_until(session, SessionClosed)
    assert closed.reason.startswith("internal error in realtime-recv")


async def test_cancelled_connect_leaves_nothing_open() -> None:
    async with FakeRealtimeServer(handshake_delay_s=1.0) as server:
        s = RealtimeSession(CONFIG, api_key=API_KEY, websocket_base_url=server.url)
        task = asyncio.create_task(s.connect(timeout=5))
        await server.wait_until(lambda: server.upgrade_requests == 1)  # stalled in the handshake
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [e async for e in s] == [SessionClosed("connect failed")]
