"""Audio path figures on this machine: resampler and VAD cost, codec throughput, pacing jitter.

    python tests/benchmarks/bench_audio.py [--seconds 5]

Prints one line per figure, then one JSON line with all of them (for the benchmark log).
Not collected by pytest (the name does not start with test_).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Callable

import numpy as np

from receptionist.audio.resample import StreamResampler
from receptionist.audio.tones import tone, voiced
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.protocol import Decoder, encode_audio, encode_uuid
from receptionist.audiosocket.server import AudioSocketServer


def per_call_us(fn: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(3):  # best of three runs: the figure is the cost, not the noise
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def bench_resample() -> dict[str, float]:
    out: dict[str, float] = {}
    for src, dst in [(16000, 24000), (24000, 16000), (8000, 24000), (24000, 8000)]:
        rs = StreamResampler(src, dst)
        frame = tone(440, 20, src)
        out[f"resample_{src // 1000}k_{dst // 1000}k_us_per_20ms"] = round(
            per_call_us(lambda rs=rs, frame=frame: rs.process(frame), 5000), 2
        )
    return out


def bench_vad() -> dict[str, float]:
    det = SpeechDetector(16000)
    frame = voiced(20)
    return {"vad_16k_us_per_20ms": round(per_call_us(lambda: det.process(frame), 5000), 2)}


def bench_codec() -> dict[str, float]:
    frame = tone(440, 20, 16000)
    stream = encode_audio(frame) * 20000  # 400 s of slin16, 12.9 MB
    out: dict[str, float] = {}
    for chunk in (4096, 65536):
        best = float("inf")
        for _ in range(3):
            dec = Decoder()
            start = time.perf_counter()
            n = 0
            for i in range(0, len(stream), chunk):
                n += len(dec.feed(stream[i : i + chunk]))
            best = min(best, time.perf_counter() - start)
        assert n == 20000
        out[f"decode_mb_per_s_{chunk // 1024}k_reads"] = round(len(stream) / best / 1e6, 1)
    out["encode_audio_us_per_frame"] = round(per_call_us(lambda: encode_audio(frame), 20000), 3)
    return out


def interval_stats(times: list[float]) -> dict[str, float]:
    # asyncio rounds its epoll timeout up to whole milliseconds, so single intervals read
    # ~20.3 / ~19.3 ms; the mean shows the absolute clock does not drift.
    ms = np.diff(times) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(np.max(ms)), 3),
        "mean_ms": round(float(np.mean(ms)), 4),
    }


async def bench_pacing(seconds: float) -> dict[str, float]:
    """Paced playout through a real AudioSocket leg on loopback, timed at both ends."""
    out: dict[str, float] = {}
    async with AudioSocketServer() as server:
        leg = uuid.uuid4()
        fut = server.register(leg)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_uuid(leg))
        conn = await asyncio.wait_for(fut, 2)

        sent: list[float] = []

        async def send(frame: bytes) -> None:
            sent.append(time.monotonic())
            await conn.send_audio(frame)

        received: list[float] = []
        frames = round(seconds * 50)

        async def receive() -> None:
            dec = Decoder()
            while len(received) < frames:
                data = await reader.read(65536)
                if not data:
                    return
                now = time.monotonic()
                received.extend(now for _ in dec.feed(data))

        paced = PacedWriter(send)
        runner = asyncio.create_task(paced.run())
        rx = asyncio.create_task(receive())
        start = time.monotonic()
        audio = tone(1000, seconds * 1000, 16000)
        for i in range(0, len(audio), 9600):  # the model delivers 300 ms bursts, fast
            paced.write("item", audio[i : i + 9600])
            await asyncio.sleep(0)
        paced.finish("item")
        await paced.wait_done("item", until_played=False)
        elapsed = time.monotonic() - start
        await asyncio.wait_for(rx, 2)
        runner.cancel()
        conn.close()
        writer.close()

    # Skip the first frames: they leave together by design (the send-ahead).
    for name, times in (("send", sent), ("recv", received)):
        for stat, value in interval_stats(times[paced.send_ahead :]).items():
            out[f"pacing_{name}_interval_{stat}"] = value
    # The last frame (index frames-1) is due to leave send_ahead frames before it plays.
    due = (frames - 1 - paced.send_ahead) * 0.020
    out["pacing_frames"] = frames
    out["pacing_late_at_end_ms"] = round((elapsed - due) * 1000, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the pacing run")
    args = parser.parse_args()
    results: dict[str, float] = {}
    for part in (bench_resample(), bench_vad(), bench_codec()):
        results.update(part)
    results.update(asyncio.run(bench_pacing(args.seconds)))
    for key, value in results.items():
        print(f"{key:40} {value}")
    print(json.dumps({"benchmark": "audio", **results}))


if __name__ == "__main__":
    main()
