"""The short spoken filler ("One moment.") played when a reply's first audio is late."""

from __future__ import annotations

import functools
import wave
from importlib import resources

from receptionist.audio.resample import StreamResampler

FILLER_WAV = "filler.wav"  # 8 kHz mono 16-bit, beside this module (see sounds/README.md)


@functools.cache
def filler_pcm(rate: int) -> bytes:
    """The filler as pcm16 mono at `rate` (read and resampled once per rate)."""
    source = resources.files("receptionist.audio").joinpath(FILLER_WAV)
    with source.open("rb") as raw, wave.open(raw, "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth()) != (1, 2):
            raise ValueError(f"{FILLER_WAV} must be mono 16-bit")
        source_rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    resampler = StreamResampler(source_rate, rate)
    return resampler.process(pcm) + resampler.flush()
