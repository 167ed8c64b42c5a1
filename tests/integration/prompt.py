"""Find a known prompt (a WAV from sounds/) in what a simulated caller heard, by content."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import soxr

from tests.integration.harness import AudioPeer

SOUNDS = Path(__file__).resolve().parents[2] / "sounds"


def prompt_pcm(name: str, rate: int, seconds: float = 0.8) -> np.ndarray:
    """The first `seconds` of sounds/NAME.wav at `rate`, as float samples."""
    with wave.open(str(SOUNDS / f"{name}.wav")) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
        source_rate = wav.getframerate()
    pcm = soxr.resample(pcm, source_rate, rate)
    return np.asarray(pcm[: int(seconds * rate)], dtype=np.float64)


def best_match(heard: np.ndarray, template: np.ndarray) -> tuple[int, float]:
    """(offset, normalised cross-correlation) of the best alignment of `template` in `heard`."""
    n, m = len(heard), len(template)
    if n < m:
        return 0, 0.0
    size = 1 << int(np.ceil(np.log2(n + m)))
    spectrum = np.fft.rfft(heard, size) * np.conj(np.fft.rfft(template, size))
    dots = np.fft.irfft(spectrum, size)[: n - m + 1]
    energy = np.concatenate(([0.0], np.cumsum(heard**2)))
    window = np.sqrt(np.maximum(energy[m:] - energy[:-m], 1e-9))
    scores = dots / (window * np.sqrt(np.sum(template**2)))
    best = int(np.argmax(scores))
    return best, float(scores[best])


def prompt_heard_at(peer: AudioPeer, name: str, rate: int, *, since: float) -> float | None:
    """When (monotonic arrival time) the caller started hearing sounds/NAME.wav after
    `since`, or None. A correlation above 0.6 is the prompt; speech or tones are not."""
    frames = [(t, f.pcm) for t, f in peer.frames if t >= since]
    if not frames:
        return None
    heard = np.frombuffer(b"".join(p for _, p in frames), dtype="<i2").astype(np.float64)
    offset, score = best_match(heard, prompt_pcm(name, rate))
    if score < 0.6:
        return None
    position = 0
    for arrived, pcm in frames:
        position += len(pcm) // 2
        if position > offset:
            # The frame holding the prompt's first sample; Asterisk sends in real time.
            return arrived - (position - offset) / rate
    return None
