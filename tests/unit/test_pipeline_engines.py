"""The pipeline with real speech engines instead of tones, in-process (the in-memory ARI
fake and a loopback 16 kHz AudioSocket leg): the caller's words are spoken by Debian's
espeak-ng and transcribed by pocketsphinx (the wheel's bundled US English model) behind
the `/v1/audio/transcriptions` adapter; the scripted chat model takes the message; its
reply is spoken by espeak-ng behind `/v1/audio/speech` (a 22.05 kHz wav streamed as
espeak-ng writes it, resampled by us), and what the caller heard is transcribed again.

Through the sandbox Asterisk the test caller's audio is narrowband (8 kHz frames in the
bridge), where pocketsphinx's 16 kHz model hears little: hence in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from receptionist.turns.events import TurnLimits
from tests.fakes.local_engines import LocalEngines, recognise, speak
from tests.fakes.realtime_script import Reply, Script, ToolCall
from tests.unit.test_call_flow import RATE
from tests.unit.test_call_flow_providers import rig
from tests.waiting import eventually

CALLER_SAYS = "Hello, I would like to leave a message for the dentist"
REPLY = "Thank you. I have taken your message for the dentist."


async def test_real_speech_in_and_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: dict[str, object]
) -> None:
    message = {"caller_name": "Jane Roe", "callback_number": "(555) 234-5678",
               "message": "Leave a message for the dentist."}  # fmt: skip
    script = Script(replies=[
        Reply(transcript="Hello, Sunrise Dental."),
        Reply(calls=(ToolCall("take_message", message),)),
        Reply(transcript=REPLY),
    ])  # fmt: skip
    voice = await speak(CALLER_SAYS, RATE)
    # pocketsphinx on this machine's CPU takes a second or two an utterance: the
    # first-audio deadline is stretched to match (a slow engine would otherwise, rightly,
    # send the caller to a person).
    limits = TurnLimits(filler_after_ms=3000, fallback_after_ms=15000)
    async with rig(tmp_path, "pipeline", script, monkeypatch, limits=limits,
                   pipeline_server=LocalEngines, speech={"format": "wav"}) as r:  # fmt: skip
        engines = r.pipeline
        assert engines is not None
        call_id = r.call()
        phone = await r.phone(call_id)
        await r.turns(call_id, 1, timeout=15)  # the greeting, spoken and played
        await phone.say(voice + bytes(RATE * 2))
        await eventually(lambda: len(r.store.list_messages()) == 1, timeout=20)
        await r.turns(call_id, 3, timeout=20)  # the caller, then the reply played whole
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
        heard = phone.audio
    [transcription] = engines.bodies("audio/transcriptions")
    caller_heard_as = transcription["heard"]
    reply_heard_as = recognise(heard)  # all the caller heard: the greeting, then the reply
    report["engines_caller_transcribed_as"] = caller_heard_as
    report["engines_caller_heard_reply_as"] = reply_heard_as
    assert engines.invalid == []
    assert "message" in caller_heard_as.split(), caller_heard_as
    # The chat model got what pocketsphinx heard, as the caller's words.
    chat = engines.bodies("chat/completions")[1]["messages"]
    assert {"role": "user", "content": caller_heard_as} in chat
    assert "message" in reply_heard_as.split(), reply_heard_as
    said = [t.text for t in row.turns if t.speaker == "assistant"]
    assert REPLY in said
