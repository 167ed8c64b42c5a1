"""SpeechDetector (webrtcvad) and the signal helpers the audio tests rely on."""

from __future__ import annotations

import numpy as np
import pytest

from receptionist.audio.tones import dominant_frequency, rms_dbfs, silence, tone, voiced
from receptionist.audio.vad import SpeechDetector


def feed_frames(det: SpeechDetector, pcm: bytes) -> list[bool]:
    n = det.frame_bytes
    return [det.process(pcm[i : i + n]) for i in range(0, len(pcm), n)]


@pytest.mark.parametrize("rate", [8000, 16000])
def test_silence_and_low_noise_are_not_speech(rate: int) -> None:
    det = SpeechDetector(rate)
    rng = np.random.default_rng(1)
    hiss = (rng.normal(0, 30, rate)).astype("<i2").tobytes()  # about -60 dBFS line noise
    assert not any(feed_frames(det, silence(1000, rate) + hiss))
    assert not det.heard_speech
    assert det.ms_since_speech == 2000


@pytest.mark.parametrize("rate", [8000, 16000])
def test_voice_like_signal_is_speech(rate: int) -> None:
    det = SpeechDetector(rate)
    states = feed_frames(det, silence(200, rate) + voiced(1000, rate) + silence(1000, rate))
    assert det.heard_speech
    assert not any(states[:10])  # the leading silence
    assert sum(states[10:60]) >= 40  # most of the voiced second
    assert not any(states[-25:])  # speech ended after the hangover
    assert det.ms_since_speech >= 500
    assert 800 <= det.speech_ms <= 1400


def test_hangover_bridges_pauses_between_words() -> None:
    det = SpeechDetector(16000, hangover_ms=200)
    word, pause = voiced(300), silence(250)
    states = feed_frames(det, word + pause + word)
    first_onset = states.index(True)
    assert all(states[first_onset:])


def test_a_click_is_not_speech() -> None:
    det = SpeechDetector(16000)
    assert not any(feed_frames(det, silence(200) + voiced(20) + silence(200)))
    assert not any(feed_frames(det, voiced(40) + silence(200)))


def test_chunks_of_any_size_and_reset_silence() -> None:
    det = SpeechDetector(16000)
    det.process(silence(15))  # less than a frame: held
    assert det.ms_since_speech == 0
    det.process(silence(25))
    assert det.ms_since_speech == 40
    det.reset_silence()
    assert det.ms_since_speech == 0


def test_unsupported_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="webrtcvad supports"):
        SpeechDetector(24000)


def test_tone_helpers() -> None:
    assert dominant_frequency(tone(440, 200, 16000), 16000) == pytest.approx(440, abs=0.5)
    assert dominant_frequency(tone(1000, 100, 24000), 24000) == pytest.approx(1000, abs=0.5)
    assert rms_dbfs(tone(440, 100, amplitude=0.5)) == pytest.approx(-9.03, abs=0.05)
    assert rms_dbfs(silence(20)) < -200
    # Continuing a tone across chunks with phase_samples is seamless.
    joined = tone(440, 20, phase_samples=0) + tone(440, 20, phase_samples=320)
    assert joined == tone(440, 40)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_short_word_counts(rate: int) -> None:
    det = SpeechDetector(rate)
    det.process(silence(200, rate) + voiced(150, rate) + silence(300, rate))  # "yes"
    assert det.heard_speech
