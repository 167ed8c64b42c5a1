"""The live call, end to end: simulated caller -> real Asterisk -> receptionist -> fake model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from receptionist.ari import AriClient, ChannelDestroyed
from receptionist.audio.tones import dominant_frequency, tone
from receptionist.audiosocket.protocol import AudioFrame
from receptionist.core.counters import COUNTERS
from receptionist.sandbox import SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    eventually,
    place_call,
    reached_operator,
)
from tests.integration.live import (
    function_outputs,
    has_tone,
    live_call,
    receptionist,
    tone_spans,
)

pytestmark = pytest.mark.integration


async def test_greeting_and_audio_both_ways(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    reply_s = 30.0  # a 30 s answer: every sample must arrive once, none twice
    script = Script(
        replies=[Reply(tone24(1000, 1.0), "Hello"), Reply(tone24(1000, reply_s), "Sure")],
        caller_transcripts=["Hi there"],
    )
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        assert call.peer is not None
        peer = call.peer
        await eventually(lambda: any(tone_spans(peer.audio(), 16000, 1000)))
        first_audio = next(t for t, f in peer.frames if any(tone_spans(f.pcm, 16000, 1000)))
        report["answer_to_first_audio_ms"] = round((first_audio - call.answered_at) * 1000)

        await peer.wait_frames(has_tone(1000), 48)  # the 1 s greeting
        await peer.wait_quiet()
        greeted = len(peer.frames)
        await peer.send_paced(tone(440, 1500))
        await peer.send_paced(bytes(16000 * 2))  # a second of silence ends the turn
        live.fake.wait_timeout_s = 15
        await live.fake.wait_sent("response.done", 2)
        await peer.wait_frames(has_tone(1000), int(reply_s * 50) - 2, start=greeted, timeout=60)
        await peer.wait_quiet()

        # Caller -> model: 440 Hz arrives at 24 kHz as 440 Hz.
        heard_by_model = live.fake.input_audio
        assert dominant_frequency(heard_by_model, 24000) == pytest.approx(440, abs=10)
        caller_frames = sum(tone_spans(heard_by_model, 24000, 440))
        assert abs(caller_frames - 75) <= 2, f"1.5 s of caller tone arrived as {caller_frames}"
        # Model -> caller: the long reply arrives whole, once: no gaps, nothing doubled.
        assert abs(_tones(peer.frames[:greeted]) - 50) <= 2
        reply_frames = _tones(peer.frames[greeted:])
        assert abs(reply_frames - reply_s * 50) <= 2, reply_frames
        # Stalls (the caller heard a gap): a figure, as they come from the machine's load.
        report["caller_reply_gaps_over_100ms"] = len(_runs(peer.frames[greeted:], 1000)) - 1
        intervals = np.diff([t for t, _ in peer.frames]) * 1000
        report["caller_frame_interval_ms_p50"] = round(float(np.percentile(intervals, 50)), 1)
        report["caller_frame_interval_ms_p99"] = round(float(np.percentile(intervals, 99)), 1)
        # The figures go into the run's JSON summary as the numbers they are.
        figures = json.loads(json.dumps(report))
        assert figures["answer_to_first_audio_ms"] > 0
        assert figures["caller_reply_gaps_over_100ms"] >= 0
        p50, p99 = figures["caller_frame_interval_ms_p50"], figures["caller_frame_interval_ms_p99"]
        assert 0 < p50 <= p99
        assert live.fake.invalid_events == []
        await ari.hangup(call.dialplan_id)
        await eventually(lambda: live.store.get_call(call.dialplan_id) is not None)
        record = live.store.get_call(call.dialplan_id)
        assert record is not None
        speakers = [t.speaker for t in record.turns]
        assert "caller" in speakers and "assistant" in speakers


def _tones(frames: list[tuple[float, AudioFrame]], freq: float = 1000) -> int:
    """How many of the frames the caller heard carry `freq`."""
    return sum(tone_spans(frame.pcm, 16000, freq)[0] for _, frame in frames)


def _runs(frames: list[tuple[float, AudioFrame]], freq: float) -> list[int]:
    """Frame counts of each stretch of `freq` the caller heard. Asterisk sends nothing
    while nobody speaks, so stretches are split by arrival time, not by silent frames."""
    runs: list[int] = []
    last = -1.0
    for at, frame in frames:
        if not tone_spans(frame.pcm, 16000, freq)[0]:
            continue
        if runs and at - last < 0.1:
            runs[-1] += 1
        else:
            runs.append(1)
        last = at
    return runs


async def test_tools_answer_from_the_business_and_store_the_message(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    message = {
        "caller_name": "Jane Roe",
        "callback_number": "(555) 234-5678",
        "message": "Please call me about my crown.",
    }
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Hello", calls=(
                ToolCall("lookup_faq", {"question": "Do you folks take my insurance plan?"}),
                ToolCall("get_business_hours", {}),
                ToolCall("take_message", message),
            )),
        ]
    )  # fmt: skip
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        outputs = dict(await function_outputs(live, 3))
        assert "Delta Dental" in outputs["lookup_faq"]
        hours = outputs["get_business_hours"]
        # The test business is open around the clock (see live.business_yaml).
        assert "Open now" in hours and "Monday to Sunday: midnight to 11:59 PM" in hours
        messages = live.store.list_messages()
        assert len(messages) == 1
        saved = messages[0]
        assert saved.caller_name == "Jane Roe"
        assert saved.callback_number == "+15552345678"
        assert saved.call_id == call.dialplan_id
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and record.caller_number == "+15550001111"
        await ari.hangup(call.dialplan_id)


async def test_end_call_plays_the_whole_goodbye_then_hangs_up(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    goodbye_s = 2.0
    script = Script(
        replies=[Reply(tone24(1000, goodbye_s), "Goodbye!", calls=(ToolCall("end_call"),))]
    )
    async with live_call(ari, sandbox, tmp_path, script) as (live, watcher, call):
        gone = await watcher.wait_for(
            lambda e: isinstance(e, ChannelDestroyed) and e.channel.id == call.caller_id,
            timeout=15,
        )
        assert gone is not None
        assert call.peer is not None
        await call.peer.wait_quiet()  # frames still in flight on the caller's leg
        heard = _tones(call.peer.frames)
        assert abs(heard - goodbye_s * 50) <= 2, heard
        await eventually(lambda: "completed" in live.store.get_call(call.dialplan_id).outcomes)


@pytest.mark.parametrize("failure", ["refused", "dropped"])
async def test_model_failure_sends_the_caller_to_the_fallback(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, failure: str
) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.5), "Hello")])
    refuse = 503 if failure == "refused" else None
    expected = "model_unavailable" if failure == "refused" else "model_dropped"
    counted = COUNTERS.fallbacks[expected]
    async with live_call(
        ari, sandbox, tmp_path, script, refuse_status=refuse, apps=f"{CALLER_APP},{PEOPLE_APP}"
    ) as (live, watcher, call):
        if failure == "dropped":
            assert call.peer is not None
            await call.peer.wait_frames(has_tone(1000), 5)  # the conversation is under way
            await live.fake.drop()
        [operator] = await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        assert operator.args == ("operator",)
        # The caller heard the fallback prompt (speech, not silence) before the operator.
        assert call.peer is not None
        loud = [f for _, f in call.peer.frames if _rms(f.pcm) > 300]
        assert len(loud) > 50, "the fallback prompt was not heard"
        record = live.store.get_call(call.dialplan_id)
        assert record is not None
        assert {"fallback", expected} <= set(record.outcomes)
        assert COUNTERS.fallbacks[expected] == counted + 1  # receptionist_fallbacks_total
        await ari.hangup(call.dialplan_id)


def _rms(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x**2))) if len(x) else 0.0


async def test_barge_in_stops_playback_and_truncates_at_what_was_heard(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    # The long reply ends by asking to hang up: since the caller interrupts it, the
    # hangup must not happen (a hangup from an interrupted reply never cuts off a caller).
    script = Script(
        replies=[
            Reply(tone24(1000, 8.0), "A very long answer", calls=(ToolCall("end_call"),)),
            Reply(tone24(1000, 0.4), "Yes?"),
        ],
        caller_transcripts=["Wait, one question"],
    )
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        assert call.peer is not None
        await live.fake.wait_sent("response.done")  # the end_call request has arrived
        await call.peer.wait_frames(has_tone(1000), 100)  # 2 s of the 8 s reply
        await call.peer.send_paced(tone(440, 800))
        await call.peer.send_paced(bytes(16000 * 2))
        truncates = await live.fake.wait_for("conversation.item.truncate")
        # The next reply is heard whole: a hangup from the interrupted one would be done.
        speech_started = live.fake.first_sent_at("input_audio_buffer.speech_started")
        peer = call.peer

        def next_reply_heard() -> bool:
            late = [f for t, f in peer.frames if t > speech_started + 0.5]
            return sum(tone_spans(b"".join(f.pcm for f in late), 16000, 1000)) >= 18

        await eventually(next_reply_heard)
        await peer.wait_quiet()

        first = [(t, f) for t, f in call.peer.frames if tone_spans(f.pcm, 16000, 1000)[0]]
        greeting = [t for t, _ in first if t < speech_started + 0.5]
        # Asterisk forwards our frames at once, so the caller hears each frame when we
        # send it: "stopped" means no model frame arrived after the model's speech_started.
        after = [t for t in greeting if t > speech_started]
        report["barge_in_model_frames_after_speech_started"] = len(after)
        report["barge_in_speech_started_to_last_frame_ms"] = round(
            (greeting[-1] - speech_started) * 1000, 1
        )
        assert len(after) <= 2, "playback went on after the caller started speaking"
        heard_ms = len(greeting) * 20
        truncated_ms = truncates[0].audio_end_ms
        report["barge_in_truncate_minus_heard_ms"] = truncated_ms - heard_ms
        assert abs(truncated_ms - heard_ms) <= 20, (truncated_ms, heard_ms)
        assert heard_ms < 6000, "playback did not stop"
        # Still connected: the interrupted reply's end_call was not executed.
        assert await ari.get_channel(call.dialplan_id) is not None
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "completed" not in record.outcomes
        await ari.hangup(call.dialplan_id)


async def test_8khz_leg_for_older_asterisk_carries_tones_both_ways(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    # Asterisk before 20.17/21.12/22.7 only has 8 kHz AudioSocket (kind 0x10): same call.
    script = Script(
        replies=[Reply(tone24(1000, 1.0), "Hello"), Reply(tone24(1000, 1.0), "Yes")],
        caller_transcripts=["Hi"],
    )
    async with live_call(ari, sandbox, tmp_path, script, audiosocket_format="slin") as (
        live,
        _,
        call,
    ):
        assert call.peer is not None
        await call.peer.wait_frames(has_tone(1000), 48)  # the 1 s greeting
        await call.peer.wait_quiet()
        greeted = len(call.peer.frames)
        await call.peer.send_paced(tone(440, 1000))
        await call.peer.send_paced(bytes(16000 * 2))
        await live.fake.wait_sent("response.done", 2)
        await call.peer.wait_frames(has_tone(1000), 48, start=greeted)
        await call.peer.wait_quiet()
        [leg] = live.app.audiosocket.connections
        assert leg.rate == 8000, "Asterisk sent kind 0x10 (slin, 8 kHz)"
        assert dominant_frequency(live.fake.input_audio, 24000) == pytest.approx(440, abs=10)
        runs = [_tones(call.peer.frames[:greeted]), _tones(call.peer.frames[greeted:])]
        assert all(abs(r - 50) <= 2 for r in runs), runs
        await ari.hangup(call.dialplan_id)


async def test_three_callers_at_once_each_get_their_own_session(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(replies=[Reply(tone24(1000, 1.0), "Hello")] * 3)
    async with (
        receptionist(sandbox, tmp_path, script) as live,
        EventWatcher(ari, CALLER_APP) as watcher,
        AudioSocketPeer() as ears,
    ):
        live.fake.replies_open.clear()  # each greeting waits until all three listen
        calls = await asyncio.gather(
            *(place_call(ari, watcher, ears, f"555100{n}", variables=live.variables)
              for n in range(3))
        )  # fmt: skip
        live.fake.replies_open.set()
        await live.fake.wait_sent("response.done", 3)
        assert len(live.fake.connections) == 3
        for call in calls:
            assert call.peer is not None
            await call.peer.wait_frames(has_tone(1000), 48)
            await call.peer.wait_quiet()
            assert _tones(call.peer.frames) == pytest.approx(50, abs=2)
        rows = live.store.list_calls()
        assert {r.id for r in rows} == {c.dialplan_id for c in calls}
        for call in calls:
            await ari.hangup(call.dialplan_id)


async def test_caller_pressing_0_reaches_a_person(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.5), "Hello")])
    async with live_call(ari, sandbox, tmp_path, script, apps=f"{CALLER_APP},{PEOPLE_APP}") as (
        live,
        watcher,
        call,
    ):
        await live.fake.wait_sent("response.done")
        await ari.send_dtmf(call.caller_id, "0")  # a keypad press on the caller's phone
        [operator] = await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        assert operator.args == ("operator",)
        reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
        assert reason == "caller_pressed_0"
        await ari.hangup(call.dialplan_id)


async def test_call_for_an_unknown_business_goes_to_the_fallback(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    async with (
        receptionist(sandbox, tmp_path, Script()) as live,
        EventWatcher(ari, f"{CALLER_APP},{PEOPLE_APP}") as watcher,
    ):
        variables = {**live.variables, "__RECEPTIONIST_BUSINESS": "no-such-business"}
        call = await place_call(ari, watcher, None, "5551234", variables=variables)
        [operator] = await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        assert operator.args == ("operator",)
        reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
        assert reason == "unknown_business"
        assert live.fake.connections == [], "no model session for a call we cannot serve"
        await ari.hangup(call.dialplan_id)
