"""Call-path latency through the real sandbox Asterisk, with the fake model answering at once.

    .venv/bin/python -m tests.benchmarks.bench_call [--calls N]

What it measures, per call (the model itself takes no time here, so these are the
costs our stack and Asterisk add on top of a real model's own latency):
- answer -> first greeting audio at the caller;
- model's speech_stopped sent -> first reply frame at the caller (model -> caller path);
- caller stops talking -> model's speech_stopped (caller -> model path plus the
  turn detector's silence window, vad_silence_ms);
- caller frame intervals while audio flows (p50/p99).
Prints the figures and a final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.sandbox import Sandbox
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP, AudioSocketPeer, EventWatcher, place_call
from tests.integration.live import receptionist, tone_spans


async def one_call(ari: AriClient, info: object, tmp: Path) -> dict[str, float]:
    script = Script(
        replies=[Reply(tone24(1000, 0.6), "Hello"), Reply(tone24(1000, 0.6), "Sure")],
        caller_transcripts=["A question"],
    )
    async with (
        receptionist(info, tmp, script) as live,  # type: ignore[arg-type]
        EventWatcher(ari, CALLER_APP) as watcher,
        AudioSocketPeer() as ear,
    ):
        call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
        assert call.peer is not None
        await live.fake.wait_sent("response.done")
        await asyncio.sleep(1.0)
        await call.peer.send_paced(tone(440, 600))
        spoke_until = time.monotonic()
        await call.peer.send_paced(bytes(16000 * 2 * 2))
        frames = [(t, f) for t, f in call.peer.frames if tone_spans(f.pcm, 16000, 1000)[0]]
        stopped = live.fake.first_sent_at("input_audio_buffer.speech_stopped")
        reply = next(t for t, _ in frames if t > stopped)
        intervals = np.diff([t for t, _ in call.peer.frames]) * 1000
        intervals = intervals[intervals < 100]  # gaps are silences: Asterisk sends nothing
        await ari.hangup(call.dialplan_id)
        return {
            "answer_to_first_audio_ms": (frames[0][0] - call.answered_at) * 1000,
            "speech_stopped_to_reply_audio_ms": (reply - stopped) * 1000,
            "caller_silent_to_speech_stopped_ms": (stopped - spoke_until) * 1000,
            "frame_interval_p50_ms": float(np.percentile(intervals, 50)),
            "frame_interval_p99_ms": float(np.percentile(intervals, 99)),
        }


async def main(calls: int) -> dict[str, dict[str, float]]:
    box = Sandbox(f"bench-{os.getpid()}")
    info = await asyncio.to_thread(box.start)
    results: list[dict[str, float]] = []
    try:
        async with AriClient(info.ari_url, info.ari_user, info.ari_password) as ari:
            for n in range(calls):
                with tempfile.TemporaryDirectory() as tmp:
                    results.append(await one_call(ari, info, Path(tmp)))
                print(f"call {n + 1}/{calls}: " + ", ".join(
                    f"{k}={v:.1f}" for k, v in results[-1].items()), flush=True)  # fmt: skip
    finally:
        await asyncio.to_thread(box.stop)
    summary = {
        key: {
            "p50": round(statistics.median(r[key] for r in results), 1),
            "max": round(max(r[key] for r in results), 1),
        }
        for key in results[0]
    }
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10)
    summary = asyncio.run(main(parser.parse_args().calls))
    for key, value in summary.items():
        print(f"{key}: p50 {value['p50']} ms, max {value['max']} ms")
    print(json.dumps({"bench": "call", "figures": summary}))
