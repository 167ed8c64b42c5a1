"""Local caller-speech detection (webrtcvad) for the caller-silence timeout.

The model's server VAD decides turns; this only answers "has the caller said anything
lately?", counted in audio time so it does not depend on when frames arrive.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

VAD_RATES = (8000, 16000, 32000, 48000)


class SpeechDetector:
    """Speech / no-speech per 20 ms frame, with onset and hangover smoothing.

    Speech starts after `onset_ms` of consecutive voiced frames and ends after
    `hangover_ms` without one (so pauses between words do not end it). webrtcvad itself
    holds "voiced" for about 100 ms after a sound, so a 20 ms click reads as 5-6 voiced
    frames, and line noise starting after digital silence as 4-5: the 160 ms onset
    rejects both, while a sound voiced for 80 ms or more (a short "yes") passes.
    """

    def __init__(
        self,
        rate: int = 16000,
        aggressiveness: int = 2,
        *,
        frame_ms: int = 20,
        onset_ms: int = 160,
        hangover_ms: int = 200,
    ) -> None:
        if frame_ms not in (10, 20, 30):
            raise ValueError("webrtcvad frames are 10, 20 or 30 ms")
        # webrtcvad has no 24 kHz (a slin24 leg's rate). It hears only 0-4 kHz at any rate
        # (it decimates to 8 kHz first), so 24 kHz audio reaches it at 8 kHz as every third
        # sample: exact for a G.711 call (nothing above 4 kHz), and for a wideband one the
        # band above folds in, which adds to a voice's energy and changes no decision that
        # matters here. soxr would hold audio back, and its int16 dither turns digital
        # silence into noise that webrtcvad then learns as the line's floor.
        self._decimate = 1
        if rate not in VAD_RATES and rate % 8000 == 0:
            self._decimate, rate = rate // 8000, 8000
        if rate not in VAD_RATES:
            raise ValueError(f"webrtcvad takes {VAD_RATES} Hz or multiples of 8 kHz, not {rate}")
        self.rate = rate
        self.frame_ms = frame_ms
        self.frame_bytes = rate * frame_ms // 1000 * 2
        self._vad = webrtcvad.Vad(aggressiveness)
        self._onset_frames = max(1, -(-onset_ms // frame_ms))
        self._hangover_frames = max(0, hangover_ms // frame_ms)
        self._pending = bytearray()
        self._voiced_run = 0
        self._unvoiced_run = 0
        self.speaking = False
        self.speech_ms = 0  # total audio time classified as speech (smoothed)
        self.ms_since_speech = 0  # audio time since speech last ended (0 while speaking)
        self.heard_speech = False

    def process(self, pcm: bytes) -> bool:
        """Feed caller audio of any length; returns whether the caller is speaking now."""
        if self._decimate > 1:
            pcm = np.frombuffer(pcm, dtype="<i2")[:: self._decimate].tobytes()
        n = self.frame_bytes
        if not self._pending and len(pcm) == n:  # the usual case: one whole frame
            self._frame(pcm)
            return self.speaking
        self._pending += pcm
        while len(self._pending) >= n:
            self._frame(bytes(self._pending[:n]))
            del self._pending[:n]
        return self.speaking

    @property
    def voiced_ms(self) -> int:
        """Audio time since the last unvoiced frame (0 on an unvoiced one)."""
        return self._voiced_run * self.frame_ms

    @property
    def unvoiced_ms(self) -> int:
        """Audio time since the last voiced frame (0 on a voiced one), hangover included."""
        return self._unvoiced_run * self.frame_ms

    def reset_silence(self) -> None:
        """Restart the silence count (e.g. after we ask "are you still there?")."""
        self.ms_since_speech = 0

    def _frame(self, frame: bytes) -> None:
        if self._vad.is_speech(frame, self.rate):
            self._voiced_run += 1
            self._unvoiced_run = 0
        else:
            self._unvoiced_run += 1
            self._voiced_run = 0
        if not self.speaking and self._voiced_run >= self._onset_frames:
            self.speaking = self.heard_speech = True
        elif self.speaking and self._unvoiced_run > self._hangover_frames:
            self.speaking = False
        if self.speaking:
            self.speech_ms += self.frame_ms
            self.ms_since_speech = 0
        else:
            self.ms_since_speech += self.frame_ms
