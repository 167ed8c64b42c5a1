"""Test and diagnostic signals as int16 PCM bytes, and a frequency check for received audio."""

from __future__ import annotations

import numpy as np


def tone(
    freq: float, ms: float, rate: int = 16000, *, amplitude: float = 0.3, phase_samples: int = 0
) -> bytes:
    """A sine of `freq` Hz; `phase_samples` continues a tone across separate chunks."""
    n = round(rate * ms / 1000)
    t = (np.arange(n) + phase_samples) / rate
    return _pcm(amplitude * np.sin(2 * np.pi * freq * t))


def silence(ms: float, rate: int = 16000) -> bytes:
    return bytes(round(rate * ms / 1000) * 2)


def voiced(
    ms: float,
    rate: int = 16000,
    *,
    f0: float = 140.0,
    syllable_hz: float = 4.0,
    amplitude: float = 0.5,
) -> bytes:
    """A speech-like signal: a harmonic-rich sawtooth at `f0`, loudness modulated at the
    syllable rate, so VADs and server-side speech detectors treat it as a voice."""
    n = round(rate * ms / 1000)
    t = np.arange(n) / rate
    saw = 2 * ((t * f0) % 1.0) - 1
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * syllable_hz * t)
    return _pcm(amplitude * saw * envelope)


def samples(pcm: bytes) -> np.ndarray:
    """int16 PCM bytes as a float array in [-1, 1)."""
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768


def dominant_frequency(pcm: bytes, rate: int) -> float:
    """The strongest frequency in Hz (Hann window, parabolic peak interpolation)."""
    x = samples(pcm)
    if len(x) < 16:
        raise ValueError("too little audio to measure a frequency")
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[0] = 0.0
    k = int(np.argmax(spectrum))
    if 0 < k < len(spectrum) - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        k += 0.5 * (a - c) / (a - 2 * b + c)
    return float(k * rate / len(x))


def rms_dbfs(pcm: bytes) -> float:
    x = samples(pcm)
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12)) if len(x) else -240.0


def _pcm(x: np.ndarray) -> bytes:
    return np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tobytes()
