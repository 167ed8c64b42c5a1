"""The simulated callers speak their channel's format: 20 ms AudioSocket frames at the
rate Asterisk was told (c(slin16) or c(slin)), a tone loud enough for the turn detector."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.caller import AUDIBLE_PEAK, CALLER_RATES, quiet_frames, speech
from receptionist.audio.tones import dominant_frequency
from receptionist.audiosocket.protocol import AudioFrame, Decoder


def decoded(frames: list[bytes]) -> list[AudioFrame]:
    out = Decoder().feed(b"".join(frames))
    assert all(isinstance(f, AudioFrame) for f in out)
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("caller_format", sorted(CALLER_RATES))
def test_callers_send_20ms_frames_at_their_channels_rate(caller_format: str) -> None:
    rate = CALLER_RATES[caller_format]
    spoken = decoded(speech(600, rate))
    assert len(spoken) == 30
    assert {(f.rate, len(f.pcm)) for f in spoken} == {(rate, rate // 50 * 2)}
    pcm = b"".join(f.pcm for f in spoken)
    assert abs(dominant_frequency(pcm, rate) - 440) < 5
    assert np.abs(np.frombuffer(pcm, dtype="<i2")).max() > AUDIBLE_PEAK
    quiet = decoded(quiet_frames(rate))
    assert len(quiet) == 50 and {f.rate for f in quiet} == {rate}
    assert np.abs(np.frombuffer(b"".join(f.pcm for f in quiet), dtype="<i2")).max() < AUDIBLE_PEAK
