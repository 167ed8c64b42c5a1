"""Checks on what a caller heard, by content: prompts by correlation, gaps by arrival."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from receptionist.audio.resample import StreamResampler
from receptionist.audiosocket.protocol import AudioFrame


def prompt_match(heard: bytes, prompt: Path, rate: int = 16000) -> float:
    """How well `prompt` (a WAV) is contained in `heard` (pcm16 at `rate`): the peak
    normalised cross-correlation, about 1.0 when it played whole, near 0 otherwise."""
    with wave.open(str(prompt), "rb") as wav:
        source_rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    resampler = StreamResampler(source_rate, rate)
    ref = np.frombuffer(resampler.process(pcm) + resampler.flush(), "<i2").astype(np.float64)
    x = np.frombuffer(heard, "<i2").astype(np.float64)
    if len(x) < len(ref):
        return 0.0
    size = 1 << int(np.ceil(np.log2(len(x) + len(ref))))
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(ref, size)), size)
    corr = corr[: len(x) - len(ref) + 1]
    # Energy of each window of `heard` the prompt's length, for the normalisation.
    energy = np.concatenate(([0.0], np.cumsum(x**2)))
    window = energy[len(ref) :] - energy[: len(x) - len(ref) + 1]
    score = corr / (np.sqrt(np.maximum(window, 1e-9)) * np.linalg.norm(ref))
    return float(score.max())


def max_gap_ms(frames: list[tuple[float, AudioFrame]], until: float) -> tuple[float, float]:
    """The longest time between two frames arriving (ms), and when it began (s after the
    first frame), over the frames up to `until`."""
    times = np.array([t for t, _ in frames if t <= until])
    gaps = np.diff(times) * 1000
    at = int(np.argmax(gaps))
    return float(gaps[at]), float(times[at] - times[0])
