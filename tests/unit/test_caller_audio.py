"""Caller audio to the model: every frame in order, DTMF handed on, gaps filled, and the
pump ends with the leg."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from receptionist.audio.tones import dominant_frequency, silence, tone, voiced
from receptionist.audio.vad import SpeechDetector
from receptionist.audiosocket.protocol import encode_audio, encode_dtmf
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.call.caller_audio import (
    GAP_FILL_MS,
    QUIET_AFTER_MS,
    QUIET_APPEND_MS,
    pump_caller_audio,
)
from tests.fakes.clock import FakeTime
from tests.unit.test_audiosocket_server import connect_leg
from tests.waiting import eventually

RATE = 16000
FRAME = RATE * 2 // 50


class Model:
    """Stands in for the session: records what send_audio got, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes]] = []

    def send_audio(self, pcm24: bytes) -> None:
        self.sent.append((time.monotonic(), pcm24))

    @property
    def audio(self) -> bytes:
        return b"".join(pcm for _, pcm in self.sent)


async def test_caller_frames_dtmf_and_gaps_reach_the_model_until_the_leg_ends() -> None:
    clock = FakeTime()
    async with AudioSocketServer() as server:
        leg, peer = await connect_leg(server)
        model, digits, after = Model(), [], []
        vad, fake_time = SpeechDetector(RATE), {"clock": clock, "timer": clock.call_later}
        # After each frame (and the DTMF): where the playout clock catches up.
        fake_time["after_frame"] = lambda: after.append(len(model.sent))
        pump = asyncio.create_task(
            pump_caller_audio(leg, model, vad, RATE, digits.append, **fake_time)  # type: ignore[arg-type]
        )
        speech = tone(440, 400, RATE)
        for i in range(0, len(speech), FRAME):
            await peer.send(encode_audio(speech[i : i + FRAME], RATE))
        await peer.send(encode_dtmf("0"))
        await eventually(lambda: digits == ["0"])  # read in order: every frame before it too
        spoke, frames = len(model.audio), len(model.sent)
        for _ in range(3):  # the phone goes quiet: no frames for 3 x 125 ms
            sent = len(model.sent)
            clock.advance(GAP_FILL_MS / 1000 * 1.25)
            await eventually(lambda sent=sent: len(model.sent) > sent)
        filled = model.audio[spoke:]
        peer.close()
        await asyncio.wait_for(pump, 2)  # ends with the leg

    assert frames == len(speech) // FRAME  # each frame sent on at once, none held for a gap
    assert after == [*range(1, frames + 1), frames]
    assert abs(dominant_frequency(model.audio[:spoke], 24000) - 440) < 5  # now at 24 kHz
    assert spoke >= 24000 * 2 * 0.35  # nearly all 400 ms (the resampler holds a little back)
    # One 100 ms gap filled with silence each time (4800 bytes at 24 kHz), no more.
    assert len(model.sent) == frames + 3
    assert 2 * 4800 <= len(filled) <= 4 * 4800
    assert np.abs(np.frombuffer(filled, dtype="<i2")[-2400:]).max() <= 2  # soxr dither only


async def test_frames_that_arrived_before_the_pump_started_are_not_lost() -> None:
    async with AudioSocketServer() as server:
        leg, peer = await connect_leg(server, extra=encode_audio(tone(440, 20, RATE), RATE) * 5)
        await eventually(lambda: leg.frames_in == 5)  # queued on the leg, nobody consuming yet
        model = Model()
        pump = asyncio.create_task(
            pump_caller_audio(leg, model, SpeechDetector(RATE), RATE, lambda digit: None)  # type: ignore[arg-type]
        )
        await eventually(lambda: len(model.sent) == 5)  # each queued frame
        peer.close()
        await asyncio.wait_for(pump, 2)
    assert abs(dominant_frequency(model.audio, 24000) - 440) < 10


async def test_8khz_frames_on_a_16khz_leg_reach_the_model_at_their_true_pitch() -> None:
    async with AudioSocketServer() as server:
        leg, peer = await connect_leg(server)
        model, vad = Model(), SpeechDetector(RATE)
        pump = asyncio.create_task(
            pump_caller_audio(leg, model, vad, RATE, lambda digit: None)  # type: ignore[arg-type]
        )
        narrow = tone(440, 600, 8000)  # a bridge may hand Asterisk 8 kHz frames
        step = 8000 * 2 // 50
        for i in range(0, len(narrow), step):
            await peer.send(encode_audio(narrow[i : i + step], 8000))
        peer.close()  # the leg reads every frame before the end of the stream
        await asyncio.wait_for(pump, 2)
    # Read as 16 kHz they would be 880 Hz and half as long.
    assert abs(dominant_frequency(model.audio, 24000) - 440) < 5
    assert len(model.audio) >= 24000 * 2 * 0.5  # two resamplers hold a little back
    assert vad.speaking


async def test_longer_appends_carry_two_frames_each_in_order() -> None:
    async with AudioSocketServer() as server:
        leg, peer = await connect_leg(server)
        model = Model()
        vad = SpeechDetector(RATE)
        no_dtmf = lambda digit: None  # noqa: E731
        pump = asyncio.create_task(
            pump_caller_audio(leg, model, vad, RATE, no_dtmf, append_ms=40)  # type: ignore[arg-type]
        )
        speech = tone(440, 200, RATE)
        for i in range(0, len(speech), FRAME):
            await peer.send(encode_audio(speech[i : i + FRAME], RATE))
        peer.close()
        await asyncio.wait_for(pump, 2)
    assert len(model.sent) == 5  # ten frames, two per append
    assert abs(dominant_frequency(model.audio, 24000) - 440) < 5


async def test_a_quiet_line_goes_in_longer_appends_until_a_voice_comes() -> None:
    rate, frame = 24000, 24000 * 2 // 50  # a slin24 leg: what the model gets is what came
    async with AudioSocketServer() as server:
        leg, peer = await connect_leg(server)
        model = Model()
        pump = asyncio.create_task(
            pump_caller_audio(leg, model, SpeechDetector(rate), rate, lambda digit: None)  # type: ignore[arg-type]
        )
        quiet = encode_audio(silence(20, rate), rate)
        settle = QUIET_AFTER_MS // 20 - 1  # the next frame makes 3.5 s of quiet: held
        per_append = QUIET_APPEND_MS // 20
        for _ in range(settle + 2 * per_append + 1):
            await peer.send(quiet)
        await eventually(lambda: len(model.sent) == settle + 2)  # the last one is held
        voice = voiced(200, rate)
        for i in range(0, len(voice), frame):
            await peer.send(encode_audio(voice[i : i + frame], rate))
        await eventually(lambda: len(model.sent) == settle + 2 + 10)
        peer.close()
        await asyncio.wait_for(pump, 2)
    sizes = [len(pcm) // (rate * 2 // 1000) for _, pcm in model.sent]  # in ms
    assert sizes[:settle] == [20] * settle  # frame by frame until the line is quiet
    assert sizes[settle : settle + 2] == [QUIET_APPEND_MS] * 2
    # The first voiced frame goes at once, with the quiet frame held before it; then
    # frame by frame again.
    assert sizes[settle + 2 :] == [40] + [20] * 9
    assert model.sent[settle + 2][1][:frame] == bytes(frame)
