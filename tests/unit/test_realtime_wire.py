"""The hand-written hot path on the realtime websocket says exactly what the SDK would."""

from __future__ import annotations

import base64
import json
import os
from typing import Any, cast

import pytest
import websockets.frames
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import InputAudioBufferAppendEvent, ResponseCreatedEvent
from websockets.frames import Frame, Opcode

from receptionist.realtime import AudioDelta
from receptionist.realtime.inbound import InboundTranslator
from receptionist.realtime.wire import Masks, append_audio, parse_server_event, text_frame
from tests.fakes.tones import tone

CONN = AsyncRealtimeConnection(cast(Any, None))


def delta_json(response_id: str, pcm: bytes, **extra: Any) -> str:
    return json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "event_1",
            "response_id": response_id,
            "item_id": "item_a",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(pcm).decode("ascii"),
            **extra,
        }
    )


@pytest.mark.parametrize("pcm", [b"\x00\x01", tone(440, 0.02), bytes(range(256)) * 8])
def test_append_text_is_what_the_sdk_sends(pcm: bytes) -> None:
    audio = base64.b64encode(pcm).decode("ascii")
    assert append_audio(pcm) == json.dumps({"type": "input_audio_buffer.append", "audio": audio})
    InputAudioBufferAppendEvent.model_validate_json(append_audio(pcm))


def test_audio_delta_translates_as_the_sdk_event_does() -> None:
    pcm = tone(1000, 0.04)
    raw = delta_json("r1", pcm).encode()
    fast = InboundTranslator(interrupt_response=True)
    typed = InboundTranslator(interrupt_response=True)
    fields = parse_server_event(CONN, raw)
    assert isinstance(fields, dict)
    assert fast.translate(fields) == typed.translate(CONN.parse_event(raw))
    assert typed.translate(CONN.parse_event(raw)) == AudioDelta("item_a", "r1", 0, pcm)
    assert fast.audio_received_ms("item_a") == 40


def test_delta_of_an_interrupted_response_is_still_translated() -> None:
    # The turn machine is the one place that drops a cut-off reply's audio.
    t = InboundTranslator(interrupt_response=True)
    t.mark_interrupted("r1")
    pcm = tone(1000, 0.04)
    delta = t.translate(parse_server_event(CONN, delta_json("r1", pcm)))
    assert delta == AudioDelta("item_a", "r1", 0, pcm)


def test_bad_base64_is_skipped() -> None:
    t = InboundTranslator(interrupt_response=True)
    raw = delta_json("r1", b"").replace('"delta": ""', '"delta": "not base64!"')
    assert t.translate(parse_server_event(CONN, raw)) is None
    assert t.audio_received_ms("item_a") == 0


def test_other_events_keep_the_sdk_types() -> None:
    raw = json.dumps(
        {
            "type": "response.created",
            "event_id": "e",
            "response": {"id": "r1", "object": "realtime.response"},
        }
    )
    assert isinstance(parse_server_event(CONN, raw), ResponseCreatedEvent)


def test_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        parse_server_event(CONN, b"\xff not json")


@pytest.mark.parametrize("size", [0, 125, 126, 2611, 65535, 65536])
def test_a_text_frame_is_what_websockets_would_write(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    mask = Masks().next()
    monkeypatch.setattr(websockets.frames.secrets, "token_bytes", lambda n: mask)
    expected = Frame(Opcode.TEXT, payload).serialize(mask=True, extensions=[])
    assert text_frame(payload, mask) == expected


def test_masks_come_from_the_os_a_thousand_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: list[int] = []
    real = os.urandom

    def urandom(n: int) -> bytes:
        draws.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", urandom)
    masks = Masks()
    got = [masks.next() for _ in range(1500)]
    assert draws == [4096, 4096]
    assert all(len(m) == 4 for m in got)
    assert len(set(got)) > 1490  # 32 random bits each: repeats are rare
