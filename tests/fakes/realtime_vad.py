"""The fake server's voice activity detector: 20 ms frames, an RMS threshold.

Times follow the API: audio_start_ms includes prefix padding, audio_end_ms the
silence duration, both counted from the first sample received in the session.
"""

from __future__ import annotations

from typing import Literal

from tests.fakes.tones import RATE_24K, rms

FRAME_MS = 20
BYTES_PER_MS = RATE_24K * 2 // 1000
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
# Two loud frames in a row: a single-frame click is not speech.
ONSET_FRAMES = 2

VadEvent = tuple[Literal["started", "stopped"], int]


class EnergyVad:
    def __init__(self, speech_rms: float) -> None:
        self.speech_rms = speech_rms
        self.in_speech = False
        self._pending = b""
        self._pos_ms = 0
        self._loud_ms = 0
        self._quiet_ms = 0

    def feed(self, pcm: bytes, *, prefix_padding_ms: int, silence_ms: int) -> list[VadEvent]:
        data = self._pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        events: list[VadEvent] = []
        for start in range(0, whole, FRAME_BYTES):
            loud = rms(data[start : start + FRAME_BYTES]) >= self.speech_rms
            self._pos_ms += FRAME_MS
            if not self.in_speech:
                self._loud_ms = self._loud_ms + FRAME_MS if loud else 0
                if self._loud_ms >= ONSET_FRAMES * FRAME_MS:
                    onset_ms = self._pos_ms - self._loud_ms
                    events.append(("started", max(0, onset_ms - prefix_padding_ms)))
                    self.in_speech, self._quiet_ms = True, 0
            else:
                self._quiet_ms = 0 if loud else self._quiet_ms + FRAME_MS
                if self._quiet_ms >= silence_ms:
                    events.append(("stopped", self._pos_ms))
                    self.in_speech, self._loud_ms = False, 0
        return events
