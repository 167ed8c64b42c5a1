"""Test audio at the model's rate (24 kHz), in seconds: thin wrappers over the project's
own signal helpers, so tests and the fake model measure audio the same way."""

from __future__ import annotations

import numpy as np

from receptionist.audio import tones

RATE_24K = 24_000


def tone(freq_hz: float, seconds: float, *, rate: int = RATE_24K, amplitude: float = 0.3) -> bytes:
    """A sine tone as pcm16 mono little-endian."""
    return tones.tone(freq_hz, seconds * 1000, rate, amplitude=amplitude)


def silence(seconds: float, *, rate: int = RATE_24K) -> bytes:
    return tones.silence(seconds * 1000, rate)


def rms(pcm: bytes) -> float:
    """Root mean square in int16 units (0 for no audio)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def dominant_frequency(pcm: bytes, *, rate: int = RATE_24K) -> float:
    return tones.dominant_frequency(pcm, rate)


def tone_spans(pcm: bytes, rate: int, freq: float, *, frame_ms: int = 20) -> list[bool]:
    """Per 20 ms frame: does `freq` dominate it (and is it loud enough to hear)?"""
    step = rate * frame_ms // 1000
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    out: list[bool] = []
    for i in range(0, len(x) - step + 1, step):
        frame = x[i : i + step]
        if np.sqrt(np.mean(frame**2)) < 300:
            out.append(False)
            continue
        spectrum = np.abs(np.fft.rfft(frame * np.hanning(step)))
        peak = np.argmax(spectrum) * rate / step
        out.append(abs(peak - freq) <= 2 * rate / step)
    return out
