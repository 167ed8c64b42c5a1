"""Sounds the sandbox makes for itself (hold music, greetings): plain tones, 8 kHz WAV."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 8000


def write_tone(path: Path, freq: float, seconds: float, amplitude: int = 8000) -> None:
    """A sine at `freq` as 8 kHz mono 16-bit WAV (what format_wav plays)."""
    count = int(RATE * seconds)
    samples = (round(amplitude * math.sin(2 * math.pi * freq * i / RATE)) for i in range(count))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{count}h", *samples))
