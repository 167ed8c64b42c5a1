"""The short spoken filler ("One moment.") played when a reply's first audio is late.

In the call's language where the package has it (`filler.<code>.wav`: Spanish, like the
shipped Asterisk prompts), else in English, as Asterisk falls back to its English
prompts for a language without its own.
"""

from __future__ import annotations

import functools
import wave
from importlib import resources

from receptionist.audio.resample import StreamResampler

FILLER_WAV = "filler.wav"  # 8 kHz mono 16-bit, beside this module (see sounds/README.md)


def filler_name(language: str = "en") -> str:
    """The filler file for `language` (an ISO 639-1 code): its own, else the English one."""
    own = f"filler.{language}.wav"
    return own if resources.files("receptionist.audio").joinpath(own).is_file() else FILLER_WAV


@functools.cache
def filler_pcm(rate: int, language: str = "en") -> bytes:
    """The filler as pcm16 mono at `rate` (read and resampled once per rate and language)."""
    name = filler_name(language)
    source = resources.files("receptionist.audio").joinpath(name)
    with source.open("rb") as raw, wave.open(raw, "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth()) != (1, 2):
            raise ValueError(f"{name} must be mono 16-bit")
        source_rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    resampler = StreamResampler(source_rate, rate)
    return resampler.process(pcm) + resampler.flush()
