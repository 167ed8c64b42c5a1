"""Per-frame CPU cost of the audio path's building blocks, measured offline on this machine.

    python -m benchmarks.micro [--quick]

Each figure times the project's real functions on one 20 ms frame (the unit a call moves),
in microseconds: the best of 3 repetitions of many calls (timeit, garbage collector off), so
the figure is the cost and not the noise of a shared machine.

- AudioSocket: `Decoder.feed` of one slin16 message (3-byte header + 640 bytes), decode
  throughput of a long stream fed in 64 KiB reads (as the server reads its socket), and
  `encode_audio` of one frame.
- Resampling: the call's `caller_to_model` / `model_to_caller` streams on 16 and 8 kHz legs.
  soxr emits whole blocks, so single calls alternate between cheap and dear; the figure is
  the mean over many consecutive frames.
- webrtcvad through `SpeechDetector.process` on a voiced frame.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from benchmarks.report import Figure, standalone
from receptionist.audio.resample import caller_to_model, model_to_caller
from receptionist.audio.tones import tone, voiced
from receptionist.audio.vad import SpeechDetector
from receptionist.audiosocket.protocol import Decoder, encode_audio

SECTION = "micro"
FRAME_MS = 20
REPEATS = 3
READ_SIZE = 64 * 1024
MODEL_RATE = 24000


def per_call_us(fn: Callable[[], object], number: int) -> float:
    """Best-of-3 cost of one call, in microseconds."""
    return min(timeit.repeat(fn, number=number, repeat=REPEATS)) / number * 1e6


def share(us: float) -> str:
    """What the cost is as a share of the 20 ms a frame lasts (one core)."""
    return f"{us / (FRAME_MS * 10):.3g}% of a 20 ms frame"


def audiosocket_figures(number: int, stream_frames: int) -> list[Figure]:
    message = encode_audio(tone(440, FRAME_MS, 16000))  # 3 + 640 bytes
    decoder = Decoder()  # a whole message leaves nothing buffered, so it can be reused
    parse = per_call_us(lambda: decoder.feed(message), number)

    stream = message * stream_frames
    reads = [stream[i : i + READ_SIZE] for i in range(0, len(stream), READ_SIZE)]

    def decode_stream() -> None:
        dec = Decoder()
        for data in reads:
            dec.feed(data)

    seconds = min(timeit.repeat(decode_stream, number=1, repeat=REPEATS))
    pcm = tone(440, FRAME_MS, 16000)
    build = per_call_us(lambda: encode_audio(pcm), number)
    return [
        Figure(SECTION, "AudioSocket parse, one slin16 frame", parse, "µs", note=share(parse)),
        Figure(
            SECTION,
            "AudioSocket parse throughput, 64 KiB reads",
            len(stream) / seconds / 1e6,
            "MB/s",
            note=f"{stream_frames} slin16 frames; a call is 0.032 MB/s each way",
        ),
        Figure(SECTION, "AudioSocket build, encode_audio slin16", build, "µs", note=share(build)),
    ]


def resample_figures(number: int) -> list[Figure]:
    figures = []
    for leg in (16000, 8000):
        for rs in (caller_to_model(leg), model_to_caller(leg)):
            frame = tone(440, FRAME_MS, rs.in_rate)
            us = per_call_us(lambda rs=rs, frame=frame: rs.process(frame), number)
            name = f"resample {rs.in_rate // 1000}k->{rs.out_rate // 1000}k per 20 ms"
            figures.append(Figure(SECTION, name, us, "µs", note=share(us)))
    return figures


def vad_figures(number: int) -> list[Figure]:
    figures = []
    for rate in (16000, 8000):
        detector = SpeechDetector(rate)
        frame = voiced(FRAME_MS, rate)
        us = per_call_us(lambda d=detector, f=frame: d.process(f), number)
        name = f"webrtcvad SpeechDetector {rate // 1000}k per 20 ms"
        figures.append(Figure(SECTION, name, us, "µs", note=share(us)))
    return figures


def run(quick: bool = False) -> list[Figure]:
    """Per-frame costs of AudioSocket codec, resampling and VAD."""
    number = 500 if quick else 5000
    stream_frames = 2000 if quick else 20000  # 20000 frames: 12.9 MB, 400 s of audio
    return (
        audiosocket_figures(number * 4, stream_frames)
        + resample_figures(number)
        + vad_figures(number)
    )


if __name__ == "__main__":
    standalone(SECTION, __doc__ or "", run, "fewer calls per figure")
