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
