"""The pipeline starts on a caller's turn while they pause (transcription, then the chat
request), and uses that work only if the turn ends as it was: a caller who goes on after
the pause is answered for everything they said, once."""

from __future__ import annotations

import asyncio

from receptionist.audio.resample import StreamResampler
from receptionist.audio.tones import silence, voiced
from receptionist.model.pipeline.endpoints import Endpoint, PipelineConfig, SpeechEndpoint
from receptionist.model.pipeline.session import PipelineSession
from receptionist.realtime import (
    CallerTranscript,
    RealtimeEvent,
    ResponseDone,
    ResponseStarted,
    SessionConfig,
)
from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.realtime_script import Reply, Script
from tests.fakes.tones import tone


async def talk(session: PipelineSession, pcm16k: bytes) -> None:
    """Send caller audio in 20 ms frames at the pace a phone sends it."""
    up = StreamResampler(16000, 24000)
    audio = up.process(pcm16k) + up.flush()
    loop = asyncio.get_running_loop()
    due = loop.time()
    for offset in range(0, len(audio), 960):
        session.send_audio(audio[offset : offset + 960])
        due += 0.02
        await asyncio.sleep(max(0.0, due - loop.time()))


async def until_done(session: PipelineSession) -> list[RealtimeEvent]:
    events: list[RealtimeEvent] = []
    async with asyncio.timeout(5):
        async for event in session.events():
            events.append(event)
            if isinstance(event, ResponseDone):
                return events
    return events


async def run_turn(
    speech: bytes, transcripts: list[str]
) -> tuple[list[RealtimeEvent], FakePipelineServer]:
    replies = [Reply(tone(700, 0.2), f"Answer number {i}.") for i in range(3)]
    async with FakePipelineServer(Script(replies, transcripts)) as fake:
        end = Endpoint(fake.url, "m")
        config = PipelineConfig(end, Endpoint(fake.url, "c"), SpeechEndpoint(fake.url, "t"))
        session = PipelineSession(SessionConfig(instructions="Be brief."), config)
        await session.connect()
        try:
            talking = asyncio.create_task(talk(session, speech))
            events = await until_done(session)
            await talking
        finally:
            await session.close()
        assert fake.invalid == []
        return events, fake


async def test_a_turn_that_ends_at_the_pause_uses_what_was_started_early() -> None:
    events, fake = await run_turn(voiced(700) + silence(1200), ["Do you take insurance?"])
    [heard] = [e for e in events if isinstance(e, CallerTranscript)]
    assert heard.text == "Do you take insurance?"
    # One transcription and one chat request: both were made during the pause.
    assert len(fake.bodies("audio/transcriptions")) == 1
    [chat] = fake.bodies("chat/completions")
    assert chat["messages"][-1] == {"role": "user", "content": "Do you take insurance?"}
    assert len([e for e in events if isinstance(e, ResponseStarted)]) == 1


async def test_a_caller_who_goes_on_after_a_pause_is_answered_for_all_of_it() -> None:
    speech = voiced(600) + silence(350) + voiced(600) + silence(1200)
    events, fake = await run_turn(speech, ["I would like", "I would like to book a cleaning"])
    [heard] = [e for e in events if isinstance(e, CallerTranscript)]
    assert heard.text == "I would like to book a cleaning"
    assert len([e for e in events if isinstance(e, ResponseStarted)]) == 1
    # The reply came from the request with the whole turn in it (an early request with
    # half of it may have been sent, and was dropped).
    answered = fake.bodies("chat/completions")[-1]
    assert answered["messages"][-1]["content"] == "I would like to book a cleaning"
    assert len(fake.bodies("audio/transcriptions")) == 2
