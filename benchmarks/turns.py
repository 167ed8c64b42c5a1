"""Turns: greeting, voice-to-voice latency and barge-in, timed at the caller's ear.

One caller at a time (the receptionist and the model in their own processes, as in
capacity.py). Per call: the greeting, then TURNS_PER_CALL turns in which the caller
speaks 600 ms (a 440 Hz tone, which the model's turn detector takes for speech) and the
model answers after its think time with 1 s of 1 kHz; the caller cuts into each answer
300 ms after it became audible, with its next turn. That gives per turn:

- voice-to-voice: end of the caller's speech -> first audible reply sound at the caller
  (the arrival of its frame, plus where in the frame the sound starts).
  Minus the think time and the turn detector's silence window (vad_silence_ms, a model
  setting), what is left is what the receptionist and Asterisk add: `added latency`;
- barge-in: the model's `speech_started` -> silence at the caller (where the sound in
  the last audible frame ends; also to the end of that whole frame, as measured before);
and per call the greeting: answer -> first audible frame, minus the think time.
All times are CLOCK_MONOTONIC, shared by the processes on this machine.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.caller import DEFAULT_RIG, Dialer, Ear, Leg, Rig, speech
from benchmarks.report import Figure, percentiles
from benchmarks.stack import model_process, receptionist_process
from receptionist.ari import AriClient
from receptionist.realtime.config import SessionConfig
from receptionist.sandbox import SandboxInfo
from tests.integration.harness import eventually
from tests.integration.live import SLUG

TURNS_PER_CALL = 5
SPEECH_MS = 600
REPLY_S = 1.0
BARGE_AFTER_S = 0.3
VAD_SILENCE_MS = SessionConfig(instructions="", tools=()).vad_silence_ms


async def _audible_after(leg: Leg, t: float, timeout: float = 5.0) -> float:
    await eventually(lambda: leg.audible_since(t) is not None, timeout)
    found = leg.audible_since(t)
    assert found is not None
    return found


async def _speech_started_after(http: aiohttp.ClientSession, url: str, t: float) -> float:
    """When the model (the latest connection) sent its first speech_started after `t`."""
    found: list[float] = []

    async def seen() -> bool:
        async with http.get(url) as response:
            data: dict[str, Any] = await response.json()
        found[:] = [at for kind, at in data["connections"][-1]["timeline"]
                    if kind == "input_audio_buffer.speech_started" and at > t]  # fmt: skip
        return bool(found)

    await eventually(seen, 5.0)
    return found[0]


async def _say(leg: Leg, ms: int) -> float:
    """Speak `ms` of speech; returns when it ends at the caller (the last frame's end)."""
    leg.spoke_until = 0.0
    leg.say(speech(ms, leg.ear.rate))
    await eventually(lambda: leg.spoke_until > 0, ms / 1000 + 2)
    return leg.spoke_until


async def run(
    sandbox: SandboxInfo,
    turns: int,
    think_ms: float,
    work: Path,
    rig: Rig = DEFAULT_RIG,
) -> tuple[list[Figure], dict[str, Any]]:
    think = think_ms / 1000
    greeting: list[float] = []
    v2v: list[float] = []
    barge: list[float] = []
    barge_frames: list[float] = []  # the same, to the end of the last frame with any sound
    app = f"rx-bench-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread((work / "turns").mkdir, parents=True, exist_ok=True)
    async with (
        model_process(think_ms, 1.0, REPLY_S) as (_, url, stats_url),
        receptionist_process(sandbox, url, work / "turns", app, leg_format=rig.leg),
        AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password) as ari,
        Ear(rig.caller, rig.phases) as ear,
        aiohttp.ClientSession() as http,
    ):
        dialer = Dialer(ari, ear, app, SLUG)
        for _ in range(math.ceil(turns / TURNS_PER_CALL)):
            call = await dialer.call()
            leg = call.leg
            assert leg is not None
            greeted = await _audible_after(leg, call.answered_at)
            greeting.append(greeted - call.answered_at)
            await asyncio.sleep(1.5)  # the 1 s greeting plays out
            ended = await _say(leg, SPEECH_MS)
            for turn in range(TURNS_PER_CALL):
                replied = await _audible_after(leg, ended)
                v2v.append(replied - ended)
                await asyncio.sleep(max(0.0, replied + BARGE_AFTER_S - time.monotonic()))
                if turn == TURNS_PER_CALL - 1 or len(v2v) >= turns:
                    break
                cut_in = time.monotonic()
                ended = await _say(leg, SPEECH_MS)  # the next turn, over the reply
                started = await _speech_started_after(http, stats_url, cut_in)
                barge.append(leg.audible_until(ended) - started)
                barge_frames.append(leg.audible_until(ended, whole_frames=True) - started)
            await call.hang_up()
            if len(v2v) >= turns:
                break
    return _figures(greeting, v2v, barge, barge_frames, think), {
        "think_ms": think_ms,
        "vad_silence_ms": VAD_SILENCE_MS,
        "greeting_s": greeting,
        "voice_to_voice_s": v2v,
        "barge_in_s": barge,
        "barge_in_whole_frames_s": barge_frames,
    }


def _figures(
    greeting: list[float],
    v2v: list[float],
    barge: list[float],
    barge_frames: list[float],
    think: float,
) -> list[Figure]:
    def ms(values: list[float], minus: float = 0.0) -> list[float]:
        return [(v - minus) * 1000 for v in values]

    added = ms(v2v, think + VAD_SILENCE_MS / 1000)
    g50, g95 = percentiles(ms(greeting, think), 50, 95)
    v50, v95 = percentiles(ms(v2v), 50, 95)
    a50, a95 = percentiles(added, 50, 95)
    b50, b95 = percentiles(ms(barge), 50, 95)
    _, f95 = percentiles(ms(barge_frames), 50, 95)
    n = f"{len(v2v)} turns"
    return [
        Figure("latency", "greeting p50", g50, "ms", note=f"minus think, {len(greeting)} calls"),
        Figure("latency", "greeting p95", g95, "ms", "<= 300", note="minus think"),
        Figure("latency", "voice-to-voice p50", v50, "ms", note=f"raw, {n}"),
        Figure("latency", "voice-to-voice p95", v95, "ms", note="raw"),
        Figure("latency", "added latency p50", a50, "ms", note="minus think and VAD window"),
        Figure("latency", "added latency p95", a95, "ms", "<= 80", note=n),
        Figure("latency", "barge-in stop p50", b50, "ms", note=f"{len(barge)} barge-ins"),
        Figure("latency", "barge-in stop p95", b95, "ms", "<= 60"),
        Figure("latency", "barge-in stop p95, whole frames", f95, "ms",
               note="to the end of the last 20 ms frame with any sound, as measured before"),
    ]  # fmt: skip
