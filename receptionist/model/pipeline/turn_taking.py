"""Our own turn-taking for the pipeline: webrtcvad endpointing on the caller's audio.

Pure (no I/O, no clock): caller audio in, at most one edge out per chunk. Barge-in takes
two steps: a few voiced frames outside a turn are `Tentative` (playback holds at once),
then either the turn starts (`Started`: the reply is cut) or the voice stops short of it
(`Dismissed`: a cough or line noise, and playback goes on where it held). Speech start
is the barge-in signal; speech stop after the business's silence window ends the turn
and hands back the utterance (with a little audio from before the onset, so the first
syllable is not clipped) for transcription. Times are audio time, in ms since the start.
"""

from __future__ import annotations

from dataclasses import dataclass

from receptionist.audio.resample import StreamResampler
from receptionist.audio.vad import SpeechDetector

MODEL_RATE = 24000  # the caller's audio as the pipeline gets it (as the model would)
MODEL_BYTES_PER_MS = MODEL_RATE * 2 // 1000
UTTERANCE_RATE = 16000  # the utterance's rate: speech servers take 16 kHz best
UTTERANCE_BYTES_PER_MS = UTTERANCE_RATE * 2 // 1000
PREFIX_MS = 300
VAD_HOLD_MS = 100
MAX_UTTERANCE_MS = 30_000  # a caller who never pauses is cut into turns this long
TENTATIVE_MS = 40  # two voiced 20 ms frames: enough to hold playback, not to cut it


@dataclass(frozen=True, slots=True)
class Started:
    at_ms: int


@dataclass(frozen=True, slots=True)
class Tentative:
    """Voice, not yet long enough for a turn: hold playback."""

    at_ms: int


@dataclass(frozen=True, slots=True)
class Dismissed:
    """The voice after a `Tentative` stopped before it made a turn."""


@dataclass(frozen=True, slots=True)
class Paused:
    """The caller has been quiet a while but the turn is not over yet: time to start
    transcribing what they said, so the transcript is ready when the turn ends."""

    pcm16k: bytes


@dataclass(frozen=True, slots=True)
class Resumed:
    """The caller went on after a Paused: what was transcribed early is out of date."""


@dataclass(frozen=True, slots=True)
class Stopped:
    at_ms: int
    pcm16k: bytes  # the utterance, 16 kHz pcm16 mono


class Endpointer:
    """Feed 24 kHz caller audio; get `Started` / `Stopped` edges."""

    def __init__(
        self, silence_ms: int, *, onset_ms: int = 160, tentative_ms: int = TENTATIVE_MS
    ) -> None:
        # The utterance goes to the speech server at 16 kHz. Quick (cubic) quality: soxr's
        # MQ stream holds back 21 ms on average here, which every turn's end would wait
        # for. The caller's audio came from an 8 or 16 kHz phone (Asterisk converts it to
        # a 24 kHz leg), so there is nothing above 8 kHz to alias.
        self._down = StreamResampler(MODEL_RATE, UTTERANCE_RATE, quality="QQ")
        # The decisions are made on the audio as it came, not on soxr's output: its int16
        # dither turns digital silence into a faint noise that webrtcvad learns as the
        # line's floor, and then took a line's hiss for a voice (a Tentative, then a turn
        # that cut the reply). webrtcvad itself holds "voiced" about 100 ms past the last
        # sound (see vad.py): the hangover is shortened by as much, so the turn ends
        # `silence_ms` after it.
        hangover = max(0, silence_ms - VAD_HOLD_MS)
        self._vad = SpeechDetector(MODEL_RATE, onset_ms=onset_ms, hangover_ms=hangover)
        self._recent = bytearray()  # audio before the onset, kept for the prefix
        self._utterance = bytearray()
        self._fed_ms = 0.0
        self._onset_ms = onset_ms
        self._silence_ms = silence_ms
        # Transcription starts this far into a pause: 200 ms before the turn would end
        # (earlier, and the pauses between words would each cost a request).
        self._eager_ms = max(100, hangover - 200)
        self._paused = False
        self._tentative_ms = tentative_ms
        self._tentative = False

    @property
    def speaking(self) -> bool:
        return self._vad.speaking

    def feed(
        self, pcm24: bytes
    ) -> Tentative | Dismissed | Started | Paused | Resumed | Stopped | None:
        pcm = self._down.process(pcm24)
        was = self._vad.speaking
        now = self._vad.process(pcm24)
        self._fed_ms += len(pcm24) / MODEL_BYTES_PER_MS
        if now:
            self._utterance += pcm
        else:
            self._recent += pcm
            keep = (PREFIX_MS + self._onset_ms) * UTTERANCE_BYTES_PER_MS
            del self._recent[: max(0, len(self._recent) - keep)]
        if now and not was:
            # The onset itself was voiced audio already in `_recent`: move it across.
            self._utterance[:0] = self._recent
            self._recent.clear()
            self._tentative = False
            return Started(max(0, round(self._fed_ms) - self._onset_ms))
        if was and not now:
            return self._stop()
        if not now:
            return self._maybe()
        if len(self._utterance) > MAX_UTTERANCE_MS * UTTERANCE_BYTES_PER_MS:
            return self._stop()
        if not self._paused and self._vad.unvoiced_ms >= self._eager_ms:
            self._paused = True
            return Paused(self._trimmed(self._vad.unvoiced_ms))
        if self._paused and self._vad.unvoiced_ms == 0:
            self._paused = False
            return Resumed()
        return None

    def _maybe(self) -> Tentative | Dismissed | None:
        """Outside a turn: the first voiced frames, or their end short of a turn."""
        voiced = self._vad.voiced_ms
        if not self._tentative and self._tentative_ms <= voiced:
            self._tentative = True
            return Tentative(max(0, round(self._fed_ms) - voiced))
        if self._tentative and voiced == 0:
            self._tentative = False
            return Dismissed()
        return None

    def _trimmed(self, quiet_ms: int) -> bytes:
        """The utterance without most of the quiet at its end (100 ms of it kept)."""
        tail = max(0, quiet_ms - 100) * UTTERANCE_BYTES_PER_MS
        return bytes(self._utterance[: max(0, len(self._utterance) - tail)])

    def _stop(self) -> Stopped:
        # The hangover (the silence window) is part of the utterance: drop most of it.
        pcm = self._trimmed(self._silence_ms)
        self._utterance.clear()
        self._paused = False
        return Stopped(round(self._fed_ms), pcm)
