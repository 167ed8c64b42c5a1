"""The whole call flow in-process: the real ReceptionistApp and Call against the in-memory
ARI fake, the AudioSocket leg over a loopback socket, and the fake realtime model."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import yaml

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.business import load_businesses
from receptionist.service.app import ReceptionistApp
from receptionist.service.wiring import session_factory
from receptionist.settings import Settings
from receptionist.store.log import AsyncStore, Store
from receptionist.turns import wording
from receptionist.turns.events import TurnLimits
from tests.fakes.ari import FakeAri, Phone
from tests.fakes.realtime_script import SilentModel, ToolLoop
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.fakes.tones import tone_spans
from tests.unit.conftest import EXAMPLE
from tests.waiting import eventually

SLUG = "test-dental"
RATE = 16000


@dataclass
class Rig:
    app: ReceptionistApp
    ari: FakeAri
    model: FakeRealtimeServer
    store: Store

    def call(self, business: str = SLUG) -> str:
        return self.ari.place_call(("inbound", business, ""))

    async def ended(self, call_id: str, timeout: float = 10.0) -> Any:
        """Wait until the call is over, its teardown included; returns its row."""

        def over() -> bool:
            row = self.store.get_call(call_id)
            return row is not None and row.ended_at is not None and call_id not in self.app.calls

        await self._until(over, timeout)
        return self.store.get_call(call_id)

    async def _until(self, predicate: Any, timeout: float) -> None:
        # Polls what the app and the database show: neither has an event to wait on.
        await eventually(predicate, timeout)

    async def turns(self, call_id: str, count: int, timeout: float = 5.0) -> None:
        """Wait until the call log holds `count` transcript lines (polling the database)."""

        def saved() -> bool:
            row = self.store.get_call(call_id)
            return row is not None and len(row.turns) >= count

        await self._until(saved, timeout)

    async def phone(self, call_id: str) -> Phone:
        await self.ari.wait_for("answer", call_id)
        return self.ari.phone()


def _business(directory: Path, *, recording: bool) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["routing"]["departments"][0]["extension"] = "PJSIP/203"
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        data["hours"][day] = {"open": "00:00", "close": "23:59"}  # tests run at any hour
    data["hours"]["closures"] = []
    data["recording"]["enabled"] = recording
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{SLUG}.yaml").write_text(yaml.safe_dump(data))


@contextlib.asynccontextmanager
async def rig(
    tmp_path: Path,
    script: Script,
    *,
    recording: bool = False,
    limits: TurnLimits | None = None,
    before_connect: Callable[[FakeAri], object] | None = None,
    settings_options: dict[str, Any] | None = None,
    **model_options: Any,
) -> AsyncIterator[Rig]:
    _business(tmp_path / "businesses", recording=recording)
    async with FakeRealtimeServer(script, **model_options) as model:
        settings = Settings(
            audiosocket_port=0,
            audiosocket_format="slin16",
            realtime_url=model.url,
            realtime_api_key="test-key",  # type: ignore[arg-type]
            database=tmp_path / "receptionist.db",
            businesses_dir=tmp_path / "businesses",
            recordings_dir=tmp_path / "recordings",
            **(settings_options or {}),
        )
        reader = Store(settings.database)
        store = AsyncStore(settings.database)
        ari = FakeAri()
        if before_connect is not None:
            before_connect(ari)
        app = ReceptionistApp(
            settings, load_businesses(settings.businesses_dir), store, cast(AriClient, ari),
            session_factory(settings), turn_limits=limits or TurnLimits(),
        )  # fmt: skip
        task = asyncio.create_task(app.run())
        try:
            await asyncio.wait_for(app.connected.wait(), 5)
            yield Rig(app, ari, model, reader)
        finally:
            await app.shutdown(0.5)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            for phone in ari.phones.values():
                phone.close()
            await store.close()
            reader.close()


def tone_ms(pcm: bytes, freq: float) -> int:
    """Milliseconds of `freq` in what the caller heard."""
    return sum(tone_spans(pcm, RATE, freq)) * 20


def loud_ms(pcm: bytes) -> int:
    x = np.frombuffer(pcm[: len(pcm) // 640 * 640], dtype="<i2").astype(np.float64)
    frames = x.reshape(-1, 320)
    return int((np.sqrt((frames**2).mean(axis=1)) > 300).sum()) * 20


# ---------------------------------------------------------------- the calls
async def test_greeting_is_heard_after_ring_and_logged_as_heard(tmp_path: Path) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.4), "Hello, Sunrise Dental.")])
    async with rig(tmp_path, script) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 380)
        await r.turns(call_id, 1)  # saved once played
        # Ring while the model came up; answered only once its session was ready.
        assert r.ari.made_at("ring", call_id) < r.ari.made_at("answer", call_id)
        assert r.model.first_sent_at("session.updated") < r.ari.made_at("answer", call_id)
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    assert row.ended_at is not None and row.outcomes == ("caller_hangup",)
    [line] = [t for t in row.turns if t.speaker == "assistant"]
    assert line.text == "Hello, Sunrise Dental."
    assert 380 <= line.end_ms - line.start_ms <= 420  # timed by playout: 400 ms
    assert line.start_ms >= 0


async def test_barge_in_stops_the_reply_truncates_it_and_its_end_call_never_runs(
    tmp_path: Path,
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 4.0), "A very long answer.", calls=(ToolCall("end_call"),)),
            Reply(tone24(1000, 0.3), "Yes?"),
        ],
        caller_transcripts=["Wait, one question"],
    )
    async with rig(tmp_path, script) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        # The fake streams at 5x real time: by now the whole reply has been generated.
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 1000)
        await r.model.wait_sent("response.done")
        await phone.say(tone(440, 600, RATE) + bytes(RATE * 2))
        [truncate] = await r.model.wait_for("conversation.item.truncate")
        await r.model.wait_sent("response.done", 2)  # the answer to the caller's turn
        heard_first = tone_ms(phone.audio, 1000)
        await r.turns(call_id, 3)  # greeting (cut), the caller, the answer
        assert not r.ari.made("hangup", call_id), "the interrupted reply's end_call ran"
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    assert "completed" not in row.outcomes
    assert truncate.audio_end_ms < 3000
    assert heard_first < 4000
    cut = next(t for t in row.turns if t.text.startswith("A very long answer."))
    assert f"heard {truncate.audio_end_ms} of 4000 ms" in cut.text
    assert abs((cut.end_ms - cut.start_ms) - truncate.audio_end_ms) <= 1


async def test_end_call_plays_the_goodbye_then_hangs_up(tmp_path: Path) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.6), "Goodbye!", calls=(ToolCall("end_call"),))])
    async with rig(tmp_path, script) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        row = await r.ended(call_id)
    assert r.ari.made("hangup", call_id)
    assert tone_ms(phone.audio, 1000) >= 580  # all of it, before the hang-up
    assert "completed" in row.outcomes


async def test_the_maximum_call_length_ends_with_a_goodbye(tmp_path: Path) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Hello, Sunrise Dental."),
            Reply(
                tone24(1000, 0.3), "We have to stop here. Goodbye!", calls=(ToolCall("end_call"),)
            ),
        ]
    )
    async with rig(tmp_path, script, settings_options={"max_call_seconds": 1}) as r:
        call_id = r.call()
        row = await r.ended(call_id)
    asked = [e.response.instructions or "" for e in r.model.events("response.create")]
    assert len(asked) == 2 and asked[1] == wording.goodbye(wording.MAX_CALL_REACHED)
    assert r.ari.made("hangup", call_id)
    assert {"max_duration", "completed"} <= set(row.outcomes)


async def test_a_silent_caller_is_checked_on_then_the_line_closes_after_the_goodbye(
    tmp_path: Path,
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Hello, Sunrise Dental."),
            Reply(tone24(1000, 0.3), "Are you still there?"),
            Reply(tone24(1000, 0.3), "Goodbye!"),  # and no end_call: the grace closes the line
        ]
    )
    limits = TurnLimits(goodbye_grace_ms=500)
    async with rig(tmp_path, script, limits=limits,
                   settings_options={"silence_timeout_seconds": 1}) as r:  # fmt: skip
        call_id = r.call()
        row = await r.ended(call_id)
    asked = [e.response.instructions or "" for e in r.model.events("response.create")]
    assert asked[1:] == [wording.CHECK_IN, wording.goodbye(wording.CALLER_SILENT)]
    assert r.ari.made("hangup", call_id)
    assert {"caller_silent", "completed"} <= set(row.outcomes)


async def test_a_voicemail_handoff_is_how_the_call_ended(tmp_path: Path) -> None:
    voicemail = ToolCall("leave_voicemail", {"department": "Front Desk"})
    script = Script(replies=[Reply(tone24(1000, 0.3), "After the tone.", calls=(voicemail,))])
    async with rig(tmp_path, script) as r:
        call_id = r.call()
        row = await r.ended(call_id)
    assert r.ari.channels[call_id].continued == ("receptionist-voicemail", "s")
    assert "voicemail" in row.outcomes and "ended" not in row.outcomes


async def test_transfer_request_continues_into_the_transfer_context(tmp_path: Path) -> None:
    transfer = ToolCall("transfer_call", {"department": "Front Desk"})
    script = Script(replies=[Reply(tone24(1000, 0.3), "Connecting you.", calls=(transfer,))])
    async with rig(tmp_path, script) as r:
        r.ari.endpoints["PJSIP/203"] = ("online", False)
        call_id = r.call()
        row = await r.ended(call_id)
    channel = r.ari.channels[call_id]
    assert channel.continued == ("receptionist-transfer", "s")
    assert channel.variables["RECEPTIONIST_TRANSFER_TARGET"] == "PJSIP/203"
    assert "transferred" in row.outcomes


@pytest.mark.parametrize("failure", ["refused", "stalled"])
async def test_a_model_that_fails_costs_ring_time_then_the_fallback(
    tmp_path: Path, failure: str
) -> None:
    options: dict[str, Any] = {"refuse_status": 503}
    if failure == "stalled":
        options = {"handshake_delay_s": 30.0}
    async with rig(tmp_path, Script(), **options) as r:
        call_id = r.call()
        row = await r.ended(call_id)
    assert not r.ari.made("answer", call_id), "answered into silence"
    channel = r.ari.channels[call_id]
    assert channel.continued == ("receptionist-fallback", "s")
    assert channel.variables["RECEPTIONIST_FALLBACK_REASON"] == "model_unavailable"
    assert {"fallback", "model_unavailable"} <= set(row.outcomes) and row.ended_at is not None


async def test_pressing_0_reaches_a_person(tmp_path: Path) -> None:
    async with rig(tmp_path, Script(replies=[Reply(tone24(1000, 0.3), "Hello")])) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 200)
        await phone.press("0")
        row = await r.ended(call_id)
    assert r.ari.channels[call_id].variables["RECEPTIONIST_FALLBACK_REASON"] == "caller_pressed_0"
    assert {"fallback", "caller_pressed_0"} <= set(row.outcomes)


async def test_a_call_for_an_unknown_business_goes_to_the_fallback(tmp_path: Path) -> None:
    async with rig(tmp_path, Script()) as r:
        call_id = r.call("no-such-business")
        await r.ari.wait_for("continue", call_id)
    assert r.ari.channels[call_id].variables["RECEPTIONIST_FALLBACK_REASON"] == "unknown_business"
    assert r.model.connections == [], "no model session for a call we cannot serve"


async def test_recording_starts_only_once_the_consent_has_been_heard(tmp_path: Path) -> None:
    greeting = Reply(tone24(1000, 0.8), "This call may be recorded. Hello!")
    async with rig(tmp_path, Script(replies=[greeting]), recording=True) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        # Full mode: the caller's detour through [receptionist-record] starts MixMonitor.
        await r.ari.wait_for("continue", call_id)
        started = r.ari.made_at("continue")
        await r.ari.wait_for("add_channel", call_id, times=2)  # back in the bridge
        heard_before = b"".join(pcm for at, pcm in phone.heard if at <= started)
        [create] = r.model.events("response.create")
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    assert tone_ms(heard_before, 1000) >= 780  # the whole consent first
    assert "recorded" in create.response.instructions
    assert len(row.recordings) == 1


async def test_a_model_that_never_speaks_gets_a_filler_then_the_fallback(tmp_path: Path) -> None:
    limits = TurnLimits(filler_after_ms=300, fallback_after_ms=1500)
    async with rig(tmp_path, SilentModel(), limits=limits) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        row = await r.ended(call_id)
        answered = r.ari.made_at("answer", call_id)
        handed = r.ari.made_at("continue", call_id)
    assert loud_ms(phone.audio) >= 500, "the filler was not heard"
    assert handed - answered < 2.0
    assert r.ari.channels[call_id].variables["RECEPTIONIST_FALLBACK_REASON"] == "no_model_audio"
    assert {"fallback", "no_model_audio"} <= set(row.outcomes)


@pytest.mark.parametrize("per_reply", [1, 50])
async def test_a_tool_call_loop_is_capped_then_the_fallback(tmp_path: Path, per_reply: int) -> None:
    limits = TurnLimits(tools_per_response=8, tools_per_call=20)
    async with rig(tmp_path, ToolLoop(per_reply), limits=limits) as r:
        call_id = r.call()
        row = await r.ended(call_id)
    assert r.ari.channels[call_id].variables["RECEPTIONIST_FALLBACK_REASON"] == "tool_limit"
    assert len(row.tool_calls) <= (8 if per_reply > 8 else 20)
    errors = r.model.sent_events("error")
    assert not [e for e in errors if "active response" in e["error"]["message"]]


async def test_a_consent_cut_short_is_said_again_before_recording(tmp_path: Path) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 3.0), "This call may be recorded. Hello, Sunrise Dental!"),
            Reply(tone24(1000, 0.5), "Sure, what is it?"),  # the server's own answer: dropped
            Reply(tone24(1000, 0.8), "This call may be recorded. Sure, what is it?"),
        ],
        caller_transcripts=["Quick question"],
    )
    async with rig(tmp_path, script, recording=True) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 500)
        await phone.say(tone(440, 600, RATE) + bytes(RATE * 2))
        # Full mode: the caller's detour through [receptionist-record] starts MixMonitor.
        await r.ari.wait_for("continue", call_id)
        creates = r.model.events("response.create")
        cancels = r.model.events("response.cancel")
        [truncate] = r.model.events("conversation.item.truncate")
        recorded_at = r.ari.made_at("continue", call_id)
        before = b"".join(pcm for at, pcm in phone.heard if at <= recorded_at)
        r.ari.caller_hangs_up(call_id)
        await r.ended(call_id)
    consent = "This call may be recorded"
    assert len(creates) == 2 and consent in creates[1].response.instructions
    assert cancels, "the server's reply went ahead of the consent"
    # Recording starts only once the repeated consent has been heard whole (800 ms after
    # the cut greeting), and the server's dropped reply was never heard.
    assert tone_ms(before, 1000) >= truncate.audio_end_ms + 760
    assert tone_ms(phone.audio, 1000) <= truncate.audio_end_ms + 840


async def test_a_model_dropped_mid_call_hands_the_caller_to_a_person(tmp_path: Path) -> None:
    async with rig(tmp_path, Script(replies=[Reply(tone24(1000, 0.3), "Hello")])) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 200)
        await r.model.drop()
        row = await r.ended(call_id)
    assert r.ari.channels[call_id].continued == ("receptionist-fallback", "s")
    assert {"fallback", "model_dropped"} <= set(row.outcomes)


async def test_a_call_arriving_as_the_app_connects_is_answered_and_a_left_over_one_reclaimed(
    tmp_path: Path,
) -> None:
    callers: dict[str, str] = {}

    def before(ari: FakeAri) -> None:
        callers["left"] = ari.left_in_stasis(("inbound", SLUG, ""))
        callers["new"] = ari.arriving(("inbound", SLUG, ""))

    script = Script(replies=[Reply(tone24(1000, 0.3), "Hello")])
    async with rig(tmp_path, script, before_connect=before) as r:
        await r.ari.wait_for("continue", callers["left"])
        await r.ari.wait_for("answer", callers["new"])
        assert r.ari.channels[callers["left"]].variables["RECEPTIONIST_FALLBACK_REASON"] == (
            "service_restart"
        )
        assert not r.ari.made("continue", callers["new"])
        assert callers["new"] in r.app.calls
