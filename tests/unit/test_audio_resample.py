"""Streaming resamplers: right pitch, right length, and no clicks where 20 ms chunks join."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from receptionist.audio.resample import StreamResampler, caller_to_model, model_to_caller
from receptionist.audio.tones import dominant_frequency, samples, tone

PAIRS = [(16000, 24000), (24000, 16000), (8000, 24000), (24000, 8000)]


def chunks(pcm: bytes, rate: int, ms: int = 20) -> list[bytes]:
    n = rate * ms // 1000 * 2
    return [pcm[i : i + n] for i in range(0, len(pcm), n)]


def stream(rs: StreamResampler, pcm: bytes, ms: int = 20) -> bytes:
    return b"".join(rs.process(c) for c in chunks(pcm, rs.in_rate, ms)) + rs.flush()


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_pitch_and_length_survive_chunked_streaming(in_rate: int, out_rate: int) -> None:
    pcm = tone(440, 1000, in_rate)
    out = stream(StreamResampler(in_rate, out_rate), pcm)
    assert abs(len(out) // 2 - out_rate) <= 4  # 1 s in, 1 s out
    assert dominant_frequency(out, out_rate) == pytest.approx(440, abs=1)


@pytest.mark.parametrize(("in_rate", "out_rate"), PAIRS)
def test_chunk_joins_do_not_click(in_rate: int, out_rate: int) -> None:
    """Chunked output equals one-shot resampling of the whole signal, so nothing happens
    at the joins; resampling each chunk on its own (the bug this avoids) does click."""
    pcm = tone(440, 1000, in_rate, amplitude=0.5)
    chunked = samples(stream(StreamResampler(in_rate, out_rate), pcm))
    whole = np.frombuffer(pcm, dtype="<i2")
    oneshot = soxr.resample(whole, in_rate, out_rate, quality="MQ").astype(np.float64) / 32768
    n = min(len(chunked), len(oneshot))
    edge = out_rate // 50  # filter start-up and tail differ between the two modes
    # Within 3 LSB of int16 everywhere (soxr rounds a little differently per block).
    assert np.max(np.abs(chunked[edge : n - edge] - oneshot[edge : n - edge])) < 1e-4

    # Clicks show up as spikes in the second difference at chunk boundaries.
    naive = np.concatenate(
        [
            soxr.resample(np.frombuffer(c, dtype="<i2"), in_rate, out_rate).astype(np.float64)
            / 32768
            for c in chunks(pcm, in_rate)
        ]
    )
    smooth = _max_curvature(oneshot[edge:-edge])
    assert _max_curvature(chunked[edge:-edge]) < 1.05 * smooth
    assert _max_curvature(naive[edge:-edge]) > 3 * smooth


def _max_curvature(x: np.ndarray) -> float:
    # A sine's second difference is bounded by its amplitude; a click at a join is not.
    return float(np.max(np.abs(np.diff(x, 2))))


def test_state_is_kept_across_chunks_of_any_size() -> None:
    pcm = tone(1000, 500, 24000)
    by_20ms = stream(StreamResampler(24000, 16000), pcm)
    odd_sizes = StreamResampler(24000, 16000)
    out = b""
    pos = 0
    for size in [2, 98, 962, 4, 1500, 30, 4800] * 10:
        out += odd_sizes.process(pcm[pos : pos + size])
        pos += size
    out += odd_sizes.process(pcm[pos:]) + odd_sizes.flush()
    a, b = samples(by_20ms), samples(out)
    assert len(a) == len(b)
    assert np.max(np.abs(a - b)) < 1e-4


def test_reset_drops_the_held_back_tail() -> None:
    rs = StreamResampler(24000, 16000)
    held = b"".join(rs.process(c) for c in chunks(tone(1000, 200, 24000, amplitude=0.8), 24000))
    assert rs.delay_samples > 0
    rs.reset()
    after = b"".join(rs.process(c) for c in chunks(bytes(9600), 24000)) + rs.flush()
    assert held
    assert np.max(np.abs(samples(after))) < 1e-3  # nothing of the old tone leaks out


def test_flush_returns_the_tail_and_the_stream_is_reusable() -> None:
    rs = StreamResampler(16000, 24000)
    pcm = tone(440, 100, 16000)
    first = b"".join(rs.process(c) for c in chunks(pcm, 16000))
    tail = rs.flush()
    assert tail
    assert abs((len(first) + len(tail)) // 2 - 2400) <= 4
    assert abs(len(stream(rs, pcm)) // 2 - 2400) <= 4


def test_equal_rates_pass_through_and_odd_input_is_refused() -> None:
    rs = StreamResampler(16000, 16000)
    assert rs.process(b"\x01\x02") == b"\x01\x02"
    assert rs.flush() == b""
    with pytest.raises(ValueError, match="16-bit"):
        StreamResampler(16000, 24000).process(b"\x00")


def test_direction_helpers() -> None:
    up = caller_to_model(8000)
    down = model_to_caller(16000)
    assert (up.in_rate, up.out_rate) == (8000, 24000)
    assert (down.in_rate, down.out_rate) == (24000, 16000)
