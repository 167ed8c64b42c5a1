"""A malformed model event is logged once and skipped; it never ends the session, and a
malformed speech_started never cuts the greeting."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from receptionist.realtime import (
    AudioDelta,
    RealtimeSession,
    ResponseDone,
    SessionClosed,
    SessionConfig,
    SpeechStarted,
)
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone

JUNK = [
    "null",
    "[]",
    "5",
    '"speech"',
    "{}",
    json.dumps({"type": "input_audio_buffer.speech_started"}),
    json.dumps({"type": "input_audio_buffer.speech_started", "audio_start_ms": "x", "item_id": 3}),
    json.dumps({"type": "response.created"}),
    json.dumps({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i"}),
    json.dumps({"type": "response.output_audio.delta", "response_id": "r", "item_id": "i",
                "content_index": 0, "delta": 12}),
    json.dumps({"type": "response.output_audio_transcript.delta", "delta": None}),
    json.dumps({"type": "response.function_call_arguments.done", "name": "end_call"}),
    json.dumps({"type": "conversation.item.input_audio_transcription.completed"}),
    json.dumps({"type": "response.done", "response": None}),
    json.dumps({"type": "error"}),
    json.dumps({"type": "error", "error": {"message": 5}}),
]  # fmt: skip


class Junk(Script):
    """Before (and in the middle of) the greeting, every kind of malformed event."""

    async def on_response_create(self, conn: Any, event: Any) -> None:
        for text in JUNK:
            await conn.send_raw(text)
        await conn.start_response(self.next_reply())
        for text in JUNK:
            await conn.send_raw(text)


async def test_malformed_events_are_skipped_and_the_greeting_plays_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="receptionist.realtime")
    script = Junk(replies=[Reply(tone(1000, 0.5), "Hello")])
    async with FakeRealtimeServer(script) as server:
        session = RealtimeSession(
            SessionConfig("Be brief."), api_key="k", websocket_base_url=server.url
        )
        await session.connect(timeout=2)
        session.request_response("Greet")
        events: list[Any] = []
        async for event in session.events():
            events.append(event)
            if isinstance(event, ResponseDone):
                break
        await session.close()
    assert not [e for e in events if isinstance(e, (SessionClosed, SpeechStarted))]
    audio = b"".join(e.pcm24 for e in events if isinstance(e, AudioDelta))
    assert len(audio) == len(tone(1000, 0.5))  # the greeting, whole
    assert events[-1] == ResponseDone(events[-1].response_id, "completed")
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    kinds = [getattr(r, "fields", {}).get("type") for r in skipped]
    assert len(kinds) == len(set(kinds)), "a malformed event type was logged more than once"
    assert "input_audio_buffer.speech_started" in kinds
