"""InboundTranslator rules without any network: which audio is dropped, which responses
count as interrupted, how server events map to call-layer events."""

from __future__ import annotations

import base64
from typing import Any

from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from receptionist.realtime import (
    AudioDelta,
    FunctionCall,
    ModelError,
    ResponseDone,
    ResponseStarted,
    SpeechStarted,
)
from receptionist.realtime.config import SessionConfig, session_param
from receptionist.realtime.inbound import InboundTranslator
from receptionist.realtime.redact import describe_endpoint
from tests.fakes.realtime_wire import CLIENT_EVENTS, error_event, response_object, validate
from tests.fakes.tones import tone

_SERVER = TypeAdapter(RealtimeServerEvent)


def ev(data: dict[str, Any]) -> Any:
    """A server event parsed by the SDK's own types (validated, not just constructed)."""
    return _SERVER.validate_python({"event_id": "event_1", **data})


def created(rid: str) -> Any:
    return ev(
        {
            "type": "response.created",
            "response": response_object(rid, status="in_progress", voice="marin"),
        }
    )


def done(rid: str, status: str, reason: str | None = None) -> Any:
    response = response_object(rid, status=status, voice="marin", reason=reason)
    return ev({"type": "response.done", "response": response})


def delta(rid: str, pcm: bytes, item: str = "item_a") -> Any:
    audio = base64.b64encode(pcm).decode()
    return ev(
        {
            "type": "response.output_audio.delta",
            "response_id": rid,
            "item_id": item,
            "output_index": 0,
            "content_index": 0,
            "delta": audio,
        }
    )


def speech_started(ms: int = 1000) -> Any:
    return ev(
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": ms, "item_id": "item_u"}
    )


def call_done(rid: str) -> Any:
    return ev(
        {
            "type": "response.function_call_arguments.done",
            "response_id": rid,
            "item_id": "item_f",
            "output_index": 1,
            "call_id": "call_1",
            "name": "end_call",
            "arguments": "{}",
        }
    )


def test_audio_flows_and_is_counted() -> None:
    t = InboundTranslator(interrupt_response=True)
    assert t.translate(created("r1")) == ResponseStarted("r1")
    pcm = tone(1000, 0.1)
    assert t.translate(delta("r1", pcm)) == AudioDelta("item_a", "r1", 0, pcm)
    assert t.audio_received_ms("item_a") == 100
    assert t.current_response_id == "r1"
    assert t.translate(done("r1", "completed")) == ResponseDone("r1", "completed", None)
    assert t.current_response_id is None and not t.is_interrupted("r1")


def test_speech_during_a_response_interrupts_it() -> None:
    t = InboundTranslator(interrupt_response=True)
    t.translate(created("r1"))
    assert t.translate(speech_started()) == SpeechStarted(1000, "item_u")
    assert t.is_interrupted("r1")
    # Already in flight: passed on and counted (the turn machine drops it, and truncation
    # may not claim more than was received).
    assert t.translate(delta("r1", tone(1000, 0.04))) is not None
    assert t.audio_received_ms("item_a") == 40
    # Its tool call is still reported, so the call layer can log and refuse it.
    call = t.translate(call_done("r1"))
    assert isinstance(call, FunctionCall) and t.is_interrupted(call.response_id)
    assert t.translate(done("r1", "cancelled", "turn_detected")) == ResponseDone(
        "r1", "cancelled", "turn_detected"
    )


def test_without_server_interrupt_speech_does_not_interrupt() -> None:
    t = InboundTranslator(interrupt_response=False)
    t.translate(created("r1"))
    t.translate(speech_started())
    assert not t.is_interrupted("r1")
    assert t.translate(delta("r1", tone(1000, 0.02))) is not None


def test_speech_after_a_response_finished_interrupts_nothing() -> None:
    t = InboundTranslator(interrupt_response=True)
    t.translate(created("r1"))
    t.translate(done("r1", "completed"))
    t.translate(speech_started())
    assert not t.is_interrupted("r1")
    t.mark_interrupted("r1")  # the call layer knows the caller cut the playback short
    assert t.is_interrupted("r1")


def test_statuses_other_than_completed_count_as_interrupted() -> None:
    t = InboundTranslator(interrupt_response=True)
    for rid, status in [("a", "incomplete"), ("b", "failed"), ("c", "cancelled")]:
        t.translate(created(rid))
        assert t.translate(done(rid, status)).status == status
        assert t.is_interrupted(rid)


def test_errors() -> None:
    t = InboundTranslator(interrupt_response=True)
    crossed = error_event("e1", "no active response", code="response_cancel_not_active")
    assert t.translate(ev(crossed)) is None
    bad = error_event("e2", "Invalid value", code="invalid_value")
    assert t.translate(ev(bad)) == ModelError("Invalid value", "invalid_value")


def test_unknown_and_quiet_events_are_ignored() -> None:
    t = InboundTranslator(interrupt_response=True)
    assert t.translate(ev({"type": "rate_limits.updated", "rate_limits": []})) is None
    assert t.translate(ev({"type": "input_audio_buffer.cleared"})) is None


def test_session_param_is_a_valid_session_update() -> None:
    config = SessionConfig(
        instructions="x",
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        transcription_language="de",
        noise_reduction=None,
    )
    event = {"type": "session.update", "session": session_param(config)}
    parsed = validate(event, CLIENT_EVENTS)
    assert not isinstance(parsed, str), parsed
    assert parsed.session.audio.input.noise_reduction is None
    assert parsed.session.audio.input.transcription.language == "de"
    no_transcript = session_param(SessionConfig(instructions="x", transcription_model=None))
    assert "transcription" not in no_transcript["audio"]["input"]


def test_endpoint_description_drops_credentials() -> None:
    url = "wss://user:secret@gateway.example:8443/v1?api-key=abc"
    assert describe_endpoint(url) == "wss://gateway.example:8443/v1"
    assert describe_endpoint(None) == "default"
