"""The pipeline's two-step barge-in through the real call (in-process rig: the app, the
paced writer, the in-memory ARI fake, the pipeline's HTTP fakes): line noise shorter
than a turn holds the reply and lets it play on whole; a voice cuts it, and what was held
is never played."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from receptionist.audio.tones import voiced
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.unit.test_call_flow import RATE, tone_ms
from tests.unit.test_call_flow_providers import rig

REPLY = "Our hours are nine to five, Monday to Friday."


def noise(ms: int) -> bytes:
    x = np.random.default_rng(ms).standard_normal(RATE * ms // 1000) * 8000
    return x.astype("<i2").tobytes() + bytes(RATE * 2)  # then a second of quiet


async def test_a_noise_burst_holds_the_reply_which_then_plays_on_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(replies=[Reply(tone24(1000, 2.0), REPLY, calls=(ToolCall("end_call"),))])
    async with rig(tmp_path, "pipeline", script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 600)
        await phone.say(noise(40))
        row = await r.ended(call_id)  # end_call: the reply was heard to its end
        assert r.pipeline is not None
        chats = r.pipeline.bodies("chat/completions")
    assert tone_ms(phone.audio, 1000) >= 1900, "the reply was cut or lost audio"
    assert [t.text for t in row.turns if t.speaker == "assistant"] == [REPLY]
    assert "completed" in row.outcomes
    assert len(chats) == 1  # the noise was no turn: nothing to answer


async def test_a_voice_confirms_the_barge_in_and_the_held_audio_never_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(
        replies=[Reply(tone24(1000, 4.0), REPLY, calls=(ToolCall("end_call"),)),
                 Reply(tone24(700, 0.3), "Yes?")],
        caller_transcripts=["Wait"],
    )  # fmt: skip
    async with rig(tmp_path, "pipeline", script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 1000)
        await phone.say(voiced(700, RATE) + bytes(RATE * 2))
        await phone.wait_heard(lambda audio: tone_ms(audio, 700) >= 280)
        await r.turns(call_id, 3)
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    heard = tone_ms(phone.audio, 1000)
    assert heard < 2500, "the reply played on over the caller"
    cut = next(t.text for t in row.turns if t.text.startswith(REPLY))
    assert "[cut off: heard" in cut and "of 4000 ms]" in cut
    assert "completed" not in row.outcomes
