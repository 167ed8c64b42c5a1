"""The same call flows against every model provider: OpenAI Realtime, Azure OpenAI
Realtime (v1 and a dated API version) and the pipeline (speech in, chat, speech out).

The real ReceptionistApp and Call run against the in-memory ARI fake and a loopback
AudioSocket leg; each provider's endpoints are fakes speaking its documented wire format
(the Realtime fake in its OpenAI or Azure flavour, the pipeline's three HTTP fakes), all
driven by the same `Script`. Assertions are on what the caller heard, the call log and
ARI: what must hold whichever model answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from receptionist.ari import AriClient
from receptionist.audio.tones import voiced
from receptionist.business import load_businesses
from receptionist.service.app import ReceptionistApp
from receptionist.service.model_factory import session_factory
from receptionist.settings import Settings
from receptionist.store.log import AsyncStore, Store
from receptionist.turns.events import TurnLimits
from tests.fakes.ari import FakeAri, Phone
from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.realtime_script import SilentModel, ToolLoop
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.unit.test_call_flow import RATE, SLUG, _business, loud_ms, tone_ms
from tests.waiting import eventually

PROVIDERS = ["openai-realtime", "azure-v1", "azure-dated", "pipeline"]
KEY = "test-provider-key"
KEY_ENV = "RECEPTIONIST_TEST_MODEL_KEY"


@dataclass
class Rig:
    app: ReceptionistApp
    ari: FakeAri
    store: Store
    realtime: FakeRealtimeServer | None
    pipeline: FakePipelineServer | None

    def call(self) -> str:
        return self.ari.place_call(("inbound", SLUG, ""))

    async def phone(self, call_id: str) -> Phone:
        await self.ari.wait_for("answer", call_id)
        return self.ari.phone()

    async def ended(self, call_id: str, timeout: float = 10.0) -> Any:
        def over() -> bool:
            row = self.store.get_call(call_id)
            return row is not None and row.ended_at is not None and call_id not in self.app.calls

        await eventually(over, timeout)  # the database and the app have no event to wait on
        return self.store.get_call(call_id)

    async def turns(self, call_id: str, count: int, timeout: float = 5.0) -> None:
        def saved() -> bool:
            row = self.store.get_call(call_id)
            return row is not None and len(row.turns) >= count

        await eventually(saved, timeout)

    def invalid(self) -> list[object]:
        """Everything any fake found off the documented wire format."""
        if self.pipeline is not None:
            return list(self.pipeline.invalid)
        assert self.realtime is not None
        return [*self.realtime.invalid_events, *self.realtime.invalid_sent]


def _model_section(provider: str, realtime: FakeRealtimeServer | None,
                   pipeline: FakePipelineServer | None) -> dict[str, Any] | None:  # fmt: skip
    if provider == "pipeline":
        assert pipeline is not None
        endpoint = {"base_url": pipeline.url, "api_key_env": KEY_ENV}
        return {
            "provider": "pipeline",
            "transcription": {**endpoint, "model": "whisper-1"},
            "chat": {**endpoint, "model": "llama3.1"},
            "speech": {**endpoint, "model": "tts-1", "voice": "alloy"},
        }
    if provider.startswith("azure"):
        assert realtime is not None
        section = {"provider": "azure-openai-realtime", "endpoint": realtime.endpoint,
                   "deployment": "rx-realtime", "api_key_env": KEY_ENV}  # fmt: skip
        if provider == "azure-dated":
            section["api_version"] = "2025-04-01-preview"
        return section
    return None


@contextlib.asynccontextmanager
async def rig(
    tmp_path: Path,
    provider: str,
    script: Script,
    monkeypatch: pytest.MonkeyPatch,
    *,
    limits: TurnLimits | None = None,
    settings_extra: dict[str, Any] | None = None,
    pipeline_server: type[FakePipelineServer] = FakePipelineServer,
    speech: dict[str, Any] | None = None,
    section_for: Callable[[FakeRealtimeServer | None, FakePipelineServer | None], dict[str, Any]]
    | None = None,
    **options: Any,
) -> AsyncIterator[Rig]:
    monkeypatch.setenv(KEY_ENV, KEY)
    async with contextlib.AsyncExitStack() as stack:
        realtime = pipeline = None
        if provider == "pipeline":
            pipeline = await stack.enter_async_context(
                pipeline_server(script, api_key=KEY, **options)
            )
        else:
            realtime = await stack.enter_async_context(
                FakeRealtimeServer(
                    script, api_key=KEY, azure=provider != "openai-realtime", **options
                )
            )
        _business(tmp_path / "businesses", recording=False)
        section = _model_section(provider, realtime, pipeline)
        if section_for is not None:
            section = section_for(realtime, pipeline)
        if section is not None and speech:
            section["speech"].update(speech)
        if section is not None:
            path = tmp_path / "businesses" / f"{SLUG}.yaml"
            path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "model": section}))
        settings = Settings(
            audiosocket_port=0,
            audiosocket_format="slin16",
            realtime_url=realtime.url if provider == "openai-realtime" and realtime else None,
            realtime_api_key=KEY if provider == "openai-realtime" else None,  # type: ignore[arg-type]
            database=tmp_path / "receptionist.db",
            businesses_dir=tmp_path / "businesses",
            recordings_dir=tmp_path / "recordings",
            **(settings_extra or {}),
        )
        businesses = load_businesses(settings.businesses_dir)
        reader = Store(settings.database)
        store = AsyncStore(settings.database)
        ari = FakeAri()
        app = ReceptionistApp(
            settings, businesses, store, cast(AriClient, ari),
            session_factory(settings, businesses.values()), turn_limits=limits or TurnLimits(),
        )  # fmt: skip
        task = asyncio.create_task(app.run())
        try:
            await asyncio.wait_for(app.connected.wait(), 5)
            yield Rig(app, ari, reader, realtime, pipeline)
        finally:
            await app.shutdown(0.5)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            for phone in ari.phones.values():
                phone.close()
            await store.close()
            reader.close()


def caller_speech() -> bytes:
    """About 0.7 s of a voice-like sound, then a second of silence (the turn ends)."""
    return voiced(700, RATE) + bytes(RATE * 2)


pytestmark = pytest.mark.parametrize("provider", PROVIDERS)


# ---------------------------------------------------------------- the calls
async def test_greeting_is_heard_and_logged_as_heard(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.4), "Hello, Sunrise Dental.")])
    async with rig(tmp_path, provider, script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 380)
        await r.turns(call_id, 1)
        assert r.ari.made_at("ring", call_id) < r.ari.made_at("answer", call_id)
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
        assert r.invalid() == []
    assert row.outcomes == ("caller_hangup",)
    [line] = [t for t in row.turns if t.speaker == "assistant"]
    assert line.text == "Hello, Sunrise Dental."
    assert 360 <= line.end_ms - line.start_ms <= 440  # timed by playout: 400 ms
    if provider.startswith("azure"):
        assert r.realtime is not None
        [(path, query)] = r.realtime.handshakes
        if provider == "azure-v1":
            assert (path, query) == ("/openai/v1/realtime", {"model": "rx-realtime"})
        else:
            assert path == "/openai/realtime"
            assert query == {"api-version": "2025-04-01-preview", "deployment": "rx-realtime"}


async def test_a_question_is_answered_from_the_faq(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    faq = ToolCall("lookup_faq", {"question": "Do you accept insurance?"})
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Hello, Sunrise Dental."),
            Reply(calls=(faq,)),
            Reply(tone24(700, 0.5), "Yes, we accept most PPO plans."),
        ],
        caller_transcripts=["Do you take insurance?"],
    )
    async with rig(tmp_path, provider, script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 280)
        await phone.say(caller_speech())
        await phone.wait_heard(lambda audio: tone_ms(audio, 700) >= 480)
        await r.turns(call_id, 3)
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
        assert r.invalid() == []
    [tool] = row.tool_calls
    assert tool.name == "lookup_faq" and "Delta Dental" in tool.result
    texts = [(t.speaker, t.text) for t in row.turns]
    assert ("caller", "Do you take insurance?") in texts
    assert ("assistant", "Yes, we accept most PPO plans.") in texts
    if r.pipeline is not None:  # the chat model saw the tool's result right after its call
        last = r.pipeline.bodies("chat/completions")[-1]["messages"]
        assert last[-2]["tool_calls"][0]["function"]["name"] == "lookup_faq"
        assert last[-1]["role"] == "tool" and "Delta Dental" in last[-1]["content"]


async def test_a_message_is_taken_and_stored(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {"caller_name": "Ann Lee", "callback_number": "(917) 555-0142",
            "message": "Please move my cleaning"}  # fmt: skip
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Hello, Sunrise Dental."),
            Reply(calls=(ToolCall("take_message", args),)),
            Reply(tone24(700, 0.4), "I have passed that on."),
        ],
        caller_transcripts=["This is Ann Lee, please move my cleaning."],
    )
    async with rig(tmp_path, provider, script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 280)
        await phone.say(caller_speech())
        await phone.wait_heard(lambda audio: tone_ms(audio, 700) >= 380)
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    [message] = row.messages
    assert (message.caller_name, message.callback_number) == ("Ann Lee", "+19175550142")
    assert message.message == "Please move my cleaning"
    assert "message_taken" in row.outcomes


async def test_transfer_request_continues_into_the_transfer_context(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    transfer = ToolCall("transfer_call", {"department": "Front Desk"})
    script = Script(replies=[Reply(tone24(1000, 0.3), "Connecting you.", calls=(transfer,))])
    async with rig(tmp_path, provider, script, monkeypatch) as r:
        r.ari.endpoints["PJSIP/203"] = ("online", False)
        call_id = r.call()
        row = await r.ended(call_id)
    channel = r.ari.channels[call_id]
    assert channel.continued == ("receptionist-transfer", "s")
    assert channel.variables["RECEPTIONIST_TRANSFER_TARGET"] == "PJSIP/203"
    assert "transferred" in row.outcomes


async def test_barge_in_stops_the_reply_and_its_end_call_never_runs(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 4.0), "A very long answer.", calls=(ToolCall("end_call"),)),
            Reply(tone24(700, 0.3), "Yes, go ahead?"),
        ],
        caller_transcripts=["Wait, one question"],
    )
    async with rig(tmp_path, provider, script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 1000)
        await phone.say(caller_speech())
        await phone.wait_heard(lambda audio: tone_ms(audio, 700) >= 280)
        await r.turns(call_id, 3)  # the cut reply, the caller, the answer
        assert not r.ari.made("hangup", call_id), "the interrupted reply's end_call ran"
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    assert tone_ms(phone.audio, 1000) < 3000, "the reply played on over the caller"
    cut = next(t for t in row.turns if t.text.startswith("A very long answer."))
    assert "of 4000 ms" in cut.text
    assert "completed" not in row.outcomes
    if r.pipeline is not None:  # the chat history keeps only what was heard whole
        history = r.pipeline.bodies("chat/completions")[-1]["messages"]
        said = [m.get("content") for m in history if m["role"] == "assistant"]
        assert "A very long answer." not in said and "(interrupted)" in said


async def test_end_call_plays_the_goodbye_then_hangs_up(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.6), "Goodbye!", calls=(ToolCall("end_call"),))])
    async with rig(tmp_path, provider, script, monkeypatch) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        row = await r.ended(call_id)
    assert r.ari.made("hangup", call_id)
    assert tone_ms(phone.audio, 1000) >= 560  # all of it, before the hang-up
    assert "completed" in row.outcomes


async def test_a_model_that_never_speaks_gets_a_filler_then_the_fallback(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = TurnLimits(filler_after_ms=300, fallback_after_ms=1500)
    async with rig(tmp_path, provider, SilentModel(), monkeypatch, limits=limits) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        row = await r.ended(call_id)
    assert loud_ms(phone.audio) >= 500, "the filler was not heard"
    assert r.ari.channels[call_id].variables["RECEPTIONIST_FALLBACK_REASON"] == "no_model_audio"
    assert {"fallback", "no_model_audio"} <= set(row.outcomes)


@pytest.mark.parametrize("per_reply", [1, 50])
async def test_a_tool_call_loop_is_capped_then_the_fallback(
    tmp_path: Path, provider: str, per_reply: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = TurnLimits(tools_per_response=8, tools_per_call=20)
    async with rig(tmp_path, provider, ToolLoop(per_reply), monkeypatch, limits=limits) as r:
        call_id = r.call()
        row = await r.ended(call_id)
    assert r.ari.channels[call_id].variables["RECEPTIONIST_FALLBACK_REASON"] == "tool_limit"
    assert len(row.tool_calls) <= (8 if per_reply > 8 else 20)


@pytest.mark.parametrize("failure", ["refused", "stalled", "wrong key"])
async def test_a_provider_that_is_down_costs_ring_time_then_the_fallback(
    tmp_path: Path, provider: str, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    options: dict[str, Any] = {"refuse_status": 503}
    if failure == "stalled":
        options = {"handshake_delay_s": 30.0}
    async with rig(tmp_path, provider, Script(), monkeypatch, **options) as r:
        if failure == "wrong key":
            monkeypatch.setenv(KEY_ENV, "not-the-key")
            if provider == "openai-realtime":
                assert r.realtime is not None
                r.realtime.api_key = "another-key"
        call_id = r.call()
        row = await r.ended(call_id)
    assert not r.ari.made("answer", call_id), "answered into silence"
    assert r.ari.made("ring", call_id)
    channel = r.ari.channels[call_id]
    assert channel.continued == ("receptionist-fallback", "s")
    assert channel.variables["RECEPTIONIST_FALLBACK_REASON"] == "model_unavailable"
    assert {"fallback", "model_unavailable"} <= set(row.outcomes)


async def test_a_provider_lost_mid_call_hands_the_caller_to_a_person(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, provider, Script(replies=[Reply(tone24(1000, 0.3), "Hello")]),
                   monkeypatch) as r:  # fmt: skip
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 200)
        if r.pipeline is not None:  # the servers go down; the caller's next turn finds out
            r.pipeline.refuse_status = 503
            await phone.say(caller_speech())
        else:
            assert r.realtime is not None
            await r.realtime.drop()
        row = await r.ended(call_id)
    assert r.ari.channels[call_id].continued == ("receptionist-fallback", "s")
    assert {"fallback", "model_dropped"} <= set(row.outcomes)
