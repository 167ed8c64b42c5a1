"""Conversation turns through RealtimeSession and the fake realtime server: audio both
ways checked by frequency, greeting, tool calls, barge-in with cancel and truncate."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from receptionist.realtime import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    RealtimeSession,
    ResponseDone,
    ResponseStarted,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
)
from tests.fakes.realtime_helpers import audio_of, read_until
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script, ToolCall
from tests.fakes.tones import dominant_frequency, silence, tone

CONFIG = SessionConfig(instructions="You are the receptionist.", vad_silence_ms=500)
FRAME_24K = 960  # 20 ms of pcm16 at 24 kHz


def send_in_frames(session: RealtimeSession, pcm: bytes) -> None:
    for start in range(0, len(pcm), FRAME_24K):
        session.send_audio(pcm[start : start + FRAME_24K])


@pytest.fixture
async def server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer(realtime_factor=5.0) as srv:
        yield srv
        assert srv.invalid_events == []
        assert srv.invalid_sent == []


async def connected(
    server: FakeRealtimeServer, script: Script, *, interrupt_response: bool = True
) -> RealtimeSession:
    server.script = script
    config = dataclasses.replace(CONFIG, interrupt_response=interrupt_response)
    session = RealtimeSession(config, api_key="sk-test", websocket_base_url=server.url)
    await session.connect(timeout=2)
    return session


async def test_greeting(server: FakeRealtimeServer) -> None:
    greeting = tone(1000, 0.6)
    session = await connected(server, Script([Reply(greeting, "Thanks for calling Acme.")]))
    try:
        session.request_response("Greet the caller.")
        done, events = await read_until(session, ResponseDone)

        (create,) = server.events("response.create")
        assert create.response.instructions == "Greet the caller."
        started = events[0]
        assert isinstance(started, ResponseStarted) and started.response_id == done.response_id
        audio = audio_of(events, done.response_id)
        assert audio == greeting  # every sample, in order, nothing duplicated
        assert dominant_frequency(audio) == pytest.approx(1000, abs=2)
        (text,) = [e for e in events if isinstance(e, AssistantTranscript)]
        assert text.text == "Thanks for calling Acme."
        assert done.status == "completed" and not session.is_interrupted(done.response_id)
        assert session.current_response_id is None
    finally:
        await session.close()


async def test_caller_audio_reaches_model_and_model_answers(server: FakeRealtimeServer) -> None:
    answer = tone(1000, 0.4)
    script = Script([Reply(answer, "We open at nine.")], caller_transcripts=["When do you open?"])
    session = await connected(server, script)
    try:
        caller = silence(0.5) + tone(440, 1.0) + silence(0.7)
        send_in_frames(session, caller)

        started, _ = await read_until(session, SpeechStarted)
        stopped, _ = await read_until(session, SpeechStopped)
        said, _ = await read_until(session, CallerTranscript)
        done, events = await read_until(session, ResponseDone)

        # Server VAD times: onset 500 ms minus 300 ms prefix padding; end 1500 ms + 500 ms silence.
        assert started.audio_start_ms == 200
        assert stopped.audio_end_ms == 2000
        assert said.text == "When do you open?" and said.item_id == started.item_id
        assert server.input_audio == caller
        heard = server.input_audio[24_000:48_000]  # the tone second, at 24 kHz
        assert dominant_frequency(heard) == pytest.approx(440, abs=2)
        assert audio_of(events) == answer
        assert done.status == "completed"
    finally:
        await session.close()


async def test_function_call_output_then_response(server: FakeRealtimeServer) -> None:
    script = Script(
        [
            Reply(calls=(ToolCall("get_business_hours", {"day": "monday"}),)),
            Reply(tone(1000, 0.2), "Nine to five."),
        ]
    )
    session = await connected(server, script)
    try:
        session.request_response()
        call, _ = await read_until(session, FunctionCall)
        assert call.name == "get_business_hours"
        assert json.loads(call.arguments) == {"day": "monday"}
        first_done, _ = await read_until(session, ResponseDone)
        assert first_done.response_id == call.response_id and first_done.status == "completed"
        assert not session.is_interrupted(call.response_id)

        session.send_function_output(call.call_id, "Monday: 9:00-17:00")
        done, events = await read_until(session, ResponseDone)

        (item,) = server.events("conversation.item.create")
        assert item.item.type == "function_call_output"
        assert (item.item.call_id, item.item.output) == (call.call_id, "Monday: 9:00-17:00")
        assert len(server.events("response.create")) == 2
        assert done.status == "completed" and audio_of(events) == tone(1000, 0.2)
        assert not any(isinstance(e, ModelError) for e in events)
    finally:
        await session.close()


async def test_barge_in_cancels_truncates_and_refuses_tools(server: FakeRealtimeServer) -> None:
    long_answer = Reply(tone(1000, 3.0), "A long answer", calls=(ToolCall("end_call"),))
    session = await connected(server, Script([long_answer]))
    try:
        session.request_response()
        first, _ = await read_until(session, AudioDelta)
        while session.audio_received_ms(first.item_id) < 200:
            await read_until(session, AudioDelta)
        # The caller talks over the model while it is still streaming.
        send_in_frames(session, tone(440, 0.3))
        speech, before = await read_until(session, SpeechStarted)
        assert session.is_interrupted(first.response_id)  # at once, before response.done

        session.cancel_response()  # may cross the server's own cancel: must stay harmless
        heard_ms = 120
        assert session.truncate(first.item_id, first.content_index, heard_ms) == heard_ms
        done, after = await read_until(session, ResponseDone)

        assert done.response_id == first.response_id
        assert done.status == "cancelled" and done.reason == "turn_detected"
        assert not any(isinstance(e, FunctionCall) for e in before + after)
        assert not any(isinstance(e, ModelError) for e in after)
        received_ms = session.audio_received_ms(first.item_id)
        assert received_ms < 3000  # the answer really was cut short
        (truncate,) = await server.wait_for("conversation.item.truncate")
        assert (truncate.item_id, truncate.content_index) == (first.item_id, 0)
        assert truncate.audio_end_ms == heard_ms
        await server.wait_sent("conversation.item.truncated")
        assert speech.item_id != first.item_id
    finally:
        await session.close()


async def test_client_cancel_without_server_interrupt(server: FakeRealtimeServer) -> None:
    session = await connected(
        server, Script([Reply(tone(1000, 3.0), "Long")]), interrupt_response=False
    )
    try:
        session.request_response()
        first, _ = await read_until(session, AudioDelta)
        assert session.cancel_response() is True
        done, _ = await read_until(session, ResponseDone)
        assert (done.status, done.reason) == ("cancelled", "client_cancelled")
        assert session.is_interrupted(done.response_id)
        assert session.cancel_response() is False  # nothing in progress any more
        (cancel,) = server.events("response.cancel")
        assert cancel.response_id == first.response_id
    finally:
        await session.close()


async def test_truncate_is_clamped_to_audio_received(server: FakeRealtimeServer) -> None:
    session = await connected(server, Script([Reply(tone(1000, 0.5), "Short")]))
    try:
        session.request_response()
        done, events = await read_until(session, ResponseDone)
        item_id = next(e.item_id for e in events if isinstance(e, AudioDelta))
        assert session.audio_received_ms(item_id) == 500
        assert session.truncate(item_id, 0, 10_000) == 500
        (truncate,) = await server.wait_for("conversation.item.truncate")
        assert truncate.audio_end_ms == 500
        await server.wait_sent("conversation.item.truncated")
        assert done.status == "completed"
    finally:
        await session.close()
