"""The model's audio format, without the SDK: what the turn machine and the resamplers need."""

from __future__ import annotations

from typing import Final

# The GA API takes raw pcm16 only at 24 kHz; the call layer resamples to and from this.
SAMPLE_RATE: Final = 24_000
BYTES_PER_MS: Final = SAMPLE_RATE * 2 // 1000
