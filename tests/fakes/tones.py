"""Test audio: tones to send, and checks that find a tone in what arrived."""

from __future__ import annotations

import numpy as np

RATE_24K = 24_000


def tone(freq_hz: float, seconds: float, *, rate: int = RATE_24K, amplitude: float = 0.3) -> bytes:
    """A sine tone as pcm16 mono little-endian."""
    t = np.arange(round(seconds * rate)) / rate
    samples = amplitude * 32767 * np.sin(2 * np.pi * freq_hz * t)
    return samples.astype("<i2").tobytes()


def silence(seconds: float, *, rate: int = RATE_24K) -> bytes:
    return bytes(2 * round(seconds * rate))


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def rms(pcm: bytes) -> float:
    x = samples(pcm)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def dominant_frequency(pcm: bytes, *, rate: int = RATE_24K) -> float:
    """The strongest frequency in `pcm` (Hann window; resolution rate/len)."""
    x = samples(pcm)
    if x.size == 0:
        raise ValueError("no audio")
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * rate / x.size)
