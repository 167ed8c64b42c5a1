"""SpeechDetector (webrtcvad) and the signal helpers the audio tests rely on."""

from __future__ import annotations

import numpy as np
import pytest

from receptionist.audio.tones import dominant_frequency, rms_dbfs, silence, tone, voiced
from receptionist.audio.vad import SpeechDetector


def feed_frames(det: SpeechDetector, pcm: bytes, rate: int = 0) -> list[bool]:
    n = (rate or det.rate) * 2 // 50  # 20 ms frames at the rate fed
    return [det.process(pcm[i : i + n]) for i in range(0, len(pcm), n)]


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_silence_and_low_noise_are_not_speech(rate: int) -> None:
    det = SpeechDetector(rate)
    rng = np.random.default_rng(1)
    hiss = (rng.normal(0, 30, rate)).astype("<i2").tobytes()  # about -60 dBFS line noise
    assert not any(feed_frames(det, silence(1000, rate) + hiss, rate))
    assert not det.heard_speech
    assert det.ms_since_speech == 2000


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_voice_like_signal_is_speech(rate: int) -> None:
    det = SpeechDetector(rate)
    states = feed_frames(det, silence(200, rate) + voiced(1000, rate) + silence(1000, rate), rate)
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


def test_24k_audio_is_judged_like_the_same_audio_at_16k() -> None:
    """webrtcvad has no 24 kHz: a slin24 leg's audio reaches it at 8 kHz, frame for frame,
    with the same decisions as the same sound at 16 kHz."""
    sound = silence(200, 16000) + voiced(600, 16000) + silence(300, 16000) + voiced(900, 16000)
    at_24k = silence(200, 24000) + voiced(600, 24000) + silence(300, 24000) + voiced(900, 24000)
    states_16k = feed_frames(SpeechDetector(16000), sound)
    states_24k = feed_frames(SpeechDetector(24000), at_24k, 24000)
    assert len(states_24k) == len(states_16k) == 100
    assert sum(a != b for a, b in zip(states_16k, states_24k, strict=True)) <= 1
    assert sum(states_24k) >= 60


def test_unsupported_frame_length_is_refused() -> None:
    with pytest.raises(ValueError, match="10, 20 or 30 ms"):
        SpeechDetector(16000, frame_ms=25)


def test_tone_helpers() -> None:
    assert dominant_frequency(tone(440, 200, 16000), 16000) == pytest.approx(440, abs=0.5)
    assert dominant_frequency(tone(1000, 100, 24000), 24000) == pytest.approx(1000, abs=0.5)
    assert rms_dbfs(tone(440, 100, amplitude=0.5)) == pytest.approx(-9.03, abs=0.05)
    assert rms_dbfs(silence(20)) < -200
    # Continuing a tone across chunks with phase_samples is seamless.
    joined = tone(440, 20, phase_samples=0) + tone(440, 20, phase_samples=320)
    assert joined == tone(440, 40)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_a_short_word_counts(rate: int) -> None:
    det = SpeechDetector(rate)
    det.process(silence(200, rate) + voiced(150, rate) + silence(300, rate))  # "yes"
    assert det.heard_speech
