"""A pipeline call through the sandbox Asterisk: the caller's speech goes to the fake
transcription server, the fake chat model calls take_message, the caller hears the fake
speech server's reply, and the message is stored. Voice-to-voice latency and barge-in
figures are reported (never asserted)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from receptionist.ari import AriClient
from receptionist.audio.tones import voiced
from receptionist.business import load_businesses
from receptionist.sandbox import SandboxInfo
from receptionist.service.app import ReceptionistApp
from receptionist.service.model_factory import session_factory
from receptionist.settings import Settings
from receptionist.store.log import AsyncStore, Store
from receptionist.turns.events import TurnLimits
from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.realtime_script import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    Call,
    EventWatcher,
    eventually,
    place_call,
)
from tests.integration.live import SLUG, business_yaml, has_tone, tone_spans

SILENCE_MS = 500  # the business's silence window (the pipeline's default)


@contextlib.asynccontextmanager
async def pipeline_call(
    ari: AriClient,
    sandbox: SandboxInfo,
    tmp_path: Path,
    script: Script,
    *,
    server: type[FakePipelineServer] = FakePipelineServer,
    speech: dict[str, object] | None = None,
    limits: TurnLimits | None = None,
) -> AsyncIterator[tuple[FakePipelineServer, Store, Call]]:
    """The receptionist with a pipeline model (`server` plays its endpoints), and a
    simulated caller with ear and mouth connected once the call is answered."""
    async with server(script) as fake:
        end = {"base_url": fake.url}
        section = {"provider": "pipeline", "silence_ms": SILENCE_MS,
                   "transcription": {**end, "model": "whisper-1"},
                   "chat": {**end, "model": "llama3.1"},
                   "speech": {**end, "model": "tts-1", "voice": "alloy"}}  # fmt: skip
        section["speech"].update(speech or {})  # type: ignore[attr-defined]
        business_yaml(tmp_path / "businesses", edit=lambda data: data.update(model=section))
        app_name = f"rx-{uuid.uuid4().hex[:8]}"
        settings = Settings(
            ari_url=sandbox.ari_url, ari_user=sandbox.ari_user,
            ari_password=sandbox.ari_password,  # type: ignore[arg-type]
            ari_app=app_name, audiosocket_port=0, database=tmp_path / "receptionist.db",
            businesses_dir=tmp_path / "businesses",
            recordings_dir=Path(sandbox.run_dir) / "spool" / "recording",
        )  # fmt: skip
        reader = Store(settings.database)
        store = AsyncStore(settings.database)
        app_ari = AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password)
        businesses = load_businesses(settings.businesses_dir)
        factory = session_factory(settings, businesses.values())
        app = ReceptionistApp(
            settings, businesses, store, app_ari, factory, turn_limits=limits or TurnLimits()
        )
        task = asyncio.create_task(app.run())
        try:
            await asyncio.wait_for(app.connected.wait(), 10)
            variables = {"__RECEPTIONIST_APP": app_name, "__RECEPTIONIST_BUSINESS": SLUG}
            async with EventWatcher(ari, CALLER_APP) as watcher, AudioSocketPeer() as ear:
                fake.replies_open.clear()  # the greeting waits until the caller listens
                try:
                    call = await place_call(ari, watcher, ear, "5551234", variables=variables)
                finally:
                    fake.replies_open.set()
                yield fake, reader, call
        finally:
            await app.shutdown(2)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await app_ari.close()
            await store.close()
            reader.close()


def _rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, dtype="<i2").astype(np.float64) ** 2)))


async def test_pipeline_call_takes_a_message_and_the_caller_hears_the_reply(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    message = {"caller_name": "Jane Roe", "callback_number": "(555) 234-5678",
               "message": "Please call me about my crown."}  # fmt: skip
    turns = 5
    script = Script(
        replies=[
            Reply(tone24(1000, 0.5), "Hello, Sunrise Dental."),
            Reply(calls=(ToolCall("take_message", message),)),
            *[Reply(tone24(700, 0.4), f"Noted, thank you {i}.") for i in range(turns)],
        ],
        caller_transcripts=["This is Jane Roe, please call me about my crown.",
                            *[f"One more thing {i}." for i in range(turns - 1)]],
    )  # fmt: skip
    async with pipeline_call(ari, sandbox, tmp_path, script) as (fake, store, call):
        peer = call.peer
        assert peer is not None
        await peer.wait_frames(has_tone(1000), 20)  # the greeting, 400 of its 500 ms
        await peer.wait_quiet()
        latencies = []
        for turn in range(turns):
            await peer.send_paced(voiced(800))
            spoke_until = time.monotonic()
            heard_before = len([f for _, f in peer.frames if tone_spans(f.pcm, 16000, 700)[0]])
            await peer.wait_frames(has_tone(700), heard_before + 10, timeout=10)
            first = next(t for t, f in peer.frames
                         if t > spoke_until and tone_spans(f.pcm, 16000, 700)[0])  # fmt: skip
            latencies.append((first - spoke_until) * 1000 - SILENCE_MS)
            if turn == 0:
                await eventually(lambda: len(store.list_messages()) == 1)
            await peer.wait_quiet()
        # What the transcription server got was the caller's voice, at 16 kHz.
        upload = fake.transcribed[0]
        assert fake.transcribed_rates[0] == 16000
        # 0.8 s of voice, with up to 300 ms before it and the start of the pause after it.
        assert 0.6 <= len(upload) / 32000 <= 1.6 and _rms(upload) > 1000
        assert fake.invalid == []
        [saved] = store.list_messages()
        assert (saved.caller_name, saved.callback_number) == ("Jane Roe", "+15552345678")
        record = store.get_call(call.dialplan_id)
        assert record is not None
        said = [t.text for t in record.turns if t.speaker == "assistant"]
        assert "Hello, Sunrise Dental." in said and "Noted, thank you 0." in said
        await ari.hangup(call.dialplan_id)
    ordered = sorted(latencies)
    report["pipeline_voice_to_voice_added_ms_p50"] = round(statistics.median(ordered), 1)
    report["pipeline_voice_to_voice_added_ms_p95"] = round(ordered[-1], 1)  # of 5: the max
    report["pipeline_voice_to_voice_added_ms_all"] = [round(x, 1) for x in latencies]


async def test_pipeline_barge_in_stops_playback(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    script = Script(
        replies=[Reply(tone24(1000, 8.0), "A very long answer that goes on.",
                       calls=(ToolCall("end_call"),)),
                 Reply(tone24(700, 0.4), "Yes, go ahead?")],
        caller_transcripts=["Wait, one question"],
    )  # fmt: skip
    async with pipeline_call(ari, sandbox, tmp_path, script) as (_, store, call):
        peer = call.peer
        assert peer is not None
        await peer.wait_frames(has_tone(1000), 100)  # 2 s of the 8 s reply
        speech_at = time.monotonic()
        await peer.send_paced(voiced(800))
        await peer.wait_frames(has_tone(700), 10, timeout=10)
        heard = [t for t, f in peer.frames if tone_spans(f.pcm, 16000, 1000)[0]]
        stopped_after_ms = (heard[-1] - speech_at) * 1000
        assert len(heard) * 20 < 6000, "playback did not stop"
        assert await ari.get_channel(call.dialplan_id) is not None, "the cut reply hung up"
        record = store.get_call(call.dialplan_id)
        assert record is not None and "completed" not in record.outcomes
        await ari.hangup(call.dialplan_id)
    report["pipeline_barge_in_first_speech_frame_to_last_reply_frame_ms"] = round(
        stopped_after_ms, 1
    )


async def test_pipeline_a_noise_burst_holds_the_reply_which_then_plays_on_whole(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    """False barge-in: 40 ms of line noise in the middle of a reply holds playback for a
    moment (the first step of a barge-in) and the reply then plays on from where it held:
    heard whole, not cut, not cancelled, and its end_call is carried out."""
    reply_ms = 3000
    script = Script(
        replies=[Reply(tone24(1000, reply_ms / 1000), "Our hours are nine to five.",
                       calls=(ToolCall("end_call"),))],
    )  # fmt: skip
    noise = (np.random.default_rng(7).standard_normal(16 * 40) * 8000).astype("<i2").tobytes()
    async with pipeline_call(ari, sandbox, tmp_path, script) as (fake, store, call):
        peer = call.peer
        assert peer is not None
        await peer.wait_frames(has_tone(1000), 50)  # 1 s of the 3 s reply
        burst_at = time.monotonic()
        await peer.send_paced(noise)
        # The line closes after the goodbye has played (end_call of a reply heard whole).
        await eventually(lambda: (row := store.get_call(call.dialplan_id)) is not None
                         and row.ended_at is not None, timeout=15)  # fmt: skip
        heard = [t for t, f in peer.frames if tone_spans(f.pcm, 16000, 1000)[0]]
        record = store.get_call(call.dialplan_id)
    assert record is not None
    [said] = [t.text for t in record.turns if t.speaker == "assistant"]
    assert said == "Our hours are nine to five.", said  # not "[cut off ...]"
    assert "completed" in record.outcomes
    assert len(heard) * 20 >= reply_ms - 100, f"heard {len(heard) * 20} of {reply_ms} ms"
    assert len(fake.bodies("chat/completions")) == 1  # no second reply: the noise was no turn
    # How long playback held: the longest gap between reply frames around the burst.
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(heard) if b > burst_at]
    report["pipeline_noise_burst_40ms_playback_held_ms"] = round(max(gaps) - 20, 1)
