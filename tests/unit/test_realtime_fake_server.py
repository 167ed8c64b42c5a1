"""The fake realtime server itself: what it sends must validate against the SDK's server
event types (so it cannot drift from the real protocol), and it must catch bad client
events, since every other realtime test relies on that."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script, ToolCall
from tests.fakes.realtime_vad import EnergyVad
from tests.fakes.realtime_wire import CLIENT_EVENTS, SERVER_EVENTS, validate
from tests.fakes.tones import dominant_frequency, silence, tone

SESSION = {
    "type": "realtime",
    "instructions": "Be brief.",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
        }
    },
}


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer(realtime_factor=None) as srv:
        yield srv


@pytest.fixture
async def ws(server: FakeRealtimeServer) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A raw websocket client: lets tests send exactly the bytes they want."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{server.url}/realtime?model=gpt-realtime") as sock,
    ):
        yield sock


async def send(ws: aiohttp.ClientWebSocketResponse, event: dict[str, Any]) -> None:
    await ws.send_str(json.dumps(event))


def append(pcm: bytes) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}


async def test_everything_the_fake_sends_is_a_valid_server_event(
    server: FakeRealtimeServer, ws: aiohttp.ClientWebSocketResponse
) -> None:
    server.script = Script(
        [
            Reply(tone(1000, 0.3), "Hello, how can I help?"),
            Reply(tone(700, 0.2), "One moment.", calls=(ToolCall("lookup_faq", {"q": "parking"}),)),
            Reply(tone(500, 2.0), "A long answer that gets interrupted"),
        ],
        caller_transcripts=["Where can I park?"],
    )
    await send(ws, {"type": "session.update", "session": SESSION})
    await send(ws, {"type": "response.create", "response": {"instructions": "Greet."}})
    await server.wait_sent("response.done")
    # A caller turn: VAD events, transcription, then the automatic (tool-calling) response.
    await send(ws, append(tone(440, 0.5) + silence(0.4)))
    await server.wait_sent("response.function_call_arguments.done")
    await server.wait_sent("response.done", 2)
    call_id = server.sent_events("response.function_call_arguments.done")[0]["call_id"]
    output = {"type": "function_call_output", "call_id": call_id, "output": "Lot B"}
    await send(ws, {"type": "conversation.item.create", "item": output})
    # Slow streaming down so the third reply is still running when it is cancelled.
    server.realtime_factor = 1.0
    deltas_so_far = len(server.sent_events("response.output_audio.delta"))
    await send(ws, {"type": "response.create"})
    await server.wait_sent("response.output_audio.delta", deltas_so_far + 2)
    await send(ws, {"type": "response.cancel"})
    await server.wait_sent("response.done", 3)
    item_id = server.sent_events("response.output_audio.delta")[-1]["item_id"]
    await send(
        ws,
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 20,
        },
    )
    await server.wait_sent("conversation.item.truncated")
    await send(ws, {"type": "response.cancel"})  # nothing active: an error event
    await server.wait_sent("error")

    assert server.invalid_events == []
    assert server.invalid_sent == []
    sent_types = {e["type"] for e in server.sent}
    assert sent_types <= set(SERVER_EVENTS)
    assert {
        "session.created",
        "session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.done",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.truncated",
        "error",
    } <= sent_types
    statuses = [e["response"]["status"] for e in server.sent_events("response.done")]
    assert statuses == ["completed", "completed", "cancelled"]
    assert server.sent_events("error")[0]["error"]["code"] == "response_cancel_not_active"
    assert dominant_frequency(server.input_audio[:24_000]) == pytest.approx(440, abs=3)


async def test_fake_reports_invalid_client_events(
    server: FakeRealtimeServer, ws: aiohttp.ClientWebSocketResponse
) -> None:
    bad: list[Any] = [
        {"type": "input_audio_buffer.apend", "audio": ""},  # unknown type
        {"type": "session.update", "session": {"type": "realtime", "instrutions": "x"}},
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
            },
        },
        {"type": "conversation.item.truncate", "item_id": "x", "content_index": 0},
        {"type": "input_audio_buffer.append", "audio": "not base64!"},
    ]
    for event in bad:
        await send(ws, event)
    await ws.send_str("{not json")
    await server.wait_until(lambda: len(server.invalid_events) == len(bad) + 1)

    errors = [e.error for e in server.invalid_events]
    assert "unknown event type 'input_audio_buffer.apend'" in errors[0]
    assert "unknown fields: session.instrutions" in errors[1]
    assert "24000" in errors[2]
    assert "audio_end_ms" in errors[3]
    assert "base64" in errors[4]
    assert errors[5].startswith("not JSON")
    # Schema failures are answered with an error event naming them, as the real API does.
    assert len(server.sent_events("error")) == 4


async def test_unknown_call_id_and_overlong_truncate_are_errors(
    server: FakeRealtimeServer, ws: aiohttp.ClientWebSocketResponse
) -> None:
    output = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    await send(ws, {"type": "conversation.item.create", "item": output})
    server.script.replies.append(Reply(tone(1000, 0.1), "Hi"))
    await send(ws, {"type": "response.create"})
    await server.wait_sent("response.done")
    item_id = server.sent_events("response.output_audio.delta")[0]["item_id"]
    truncate = {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0}
    await send(ws, {**truncate, "audio_end_ms": 101})
    await server.wait_sent("error", 2)
    codes = [e["error"]["code"] for e in server.sent_events("error")]
    assert codes == ["invalid_value", "invalid_value"]
    assert server.sent_events("conversation.item.truncated") == []


def test_validator_catches_drift_in_server_events() -> None:
    good = {
        "type": "input_audio_buffer.speech_started",
        "event_id": "e",
        "audio_start_ms": 0,
        "item_id": "i",
    }
    assert not isinstance(validate(good, SERVER_EVENTS), str)
    assert "audio_start_ms" in str(validate({**good, "audio_start_ms": "soon"}, SERVER_EVENTS))
    assert "unknown fields: start_ms" in str(validate({**good, "start_ms": 1}, SERVER_EVENTS))
    missing = {k: v for k, v in good.items() if k != "item_id"}
    assert "item_id" in str(validate(missing, SERVER_EVENTS))
    assert "unknown event type" in str(validate({"type": "response.audio.delta"}, SERVER_EVENTS))
    assert "unknown event type" in str(validate({"type": "session.created"}, CLIENT_EVENTS))


def test_energy_vad_times_do_not_depend_on_chunking() -> None:
    pcm = silence(0.5) + tone(440, 1.0) + silence(0.6)
    expected = [("started", 200), ("stopped", 2000)]
    for chunk in (1, 7, 960, 4801, len(pcm)):
        chunk -= chunk % 2
        vad = EnergyVad(speech_rms=500)
        events = []
        for start in range(0, len(pcm), chunk or 2):
            piece = pcm[start : start + (chunk or 2)]
            events += vad.feed(piece, prefix_padding_ms=300, silence_ms=500)
        assert events == expected, chunk


def test_energy_vad_ignores_quiet_audio_and_clicks() -> None:
    vad = EnergyVad(speech_rms=500)
    click = tone(1000, 0.02)  # one loud frame
    quiet = tone(440, 1.0, amplitude=0.005)
    assert (
        vad.feed(silence(0.2) + click + silence(0.2) + quiet, prefix_padding_ms=0, silence_ms=200)
        == []
    )


async def test_refusal_statuses(server: FakeRealtimeServer) -> None:
    async with aiohttp.ClientSession() as http:
        server.refuse_status = 503
        async with http.get(server.url.replace("ws://", "http://") + "/realtime") as resp:
            assert resp.status == 503
        server.refuse_status, server.api_key = None, "sk-right"
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect(f"{server.url}/realtime", headers={"Authorization": "Bearer no"})
        assert caught.value.status == 401
    assert server.rejected_handshakes == [503, 401]
