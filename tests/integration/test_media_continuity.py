"""Media continuity: the caller hears audio every 20 ms, replies or silence, all call long."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.audiosocket.protocol import AudioFrame
from receptionist.sandbox import SandboxInfo
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.live import live_call, tone_spans
from tests.integration.sounds import max_gap_ms

pytestmark = pytest.mark.integration

CALL_S = 60.0
PAUSE_S = 25.0  # nobody speaks: the receptionist waits on the caller


def any_frame(frame: AudioFrame) -> bool:
    return True  # a reply or silence: the caller is sent something


async def test_caller_receives_audio_every_20_ms_through_long_pauses(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    script = Script(
        replies=[Reply(tone24(1000, 1.0), "Hello"), Reply(tone24(1000, 1.0), "Sure")],
        caller_transcripts=["Hi there"],
    )
    options = {"silence_timeout_seconds": 300}  # the long pauses are the point here
    async with live_call(ari, sandbox, tmp_path, script, **options) as (live, _, call):
        assert call.peer is not None
        peer = call.peer
        # Nobody speaks: the pause lasts until the caller has been sent 25 s of 20 ms frames.
        start = len(peer.frames)
        await peer.wait_frames(any_frame, int(PAUSE_S * 50), start=start, timeout=PAUSE_S + 15)
        await peer.send_paced(tone(440, 1000))
        await peer.send_paced(bytes(16000 * 2))
        await live.fake.wait_sent("response.done", 2)
        await peer.wait_frames(any_frame, int(CALL_S * 50), start=start, timeout=CALL_S + 15)
        await ari.hangup(call.dialplan_id)

    times = [t for t, _ in peer.frames]
    assert times[-1] - times[0] >= CALL_S - 1
    gap, at_s = max_gap_ms(peer.frames, times[-1])
    report["caller_audio_max_gap_ms_60s_call"] = round(gap, 1)
    report["caller_audio_gap_ms_p99"] = round(float(np.percentile(np.diff(times) * 1000, 99)), 1)
    print(f"caller audio over {times[-1] - times[0]:.1f} s: max gap {gap:.1f} ms (at {at_s:.1f} s)")
    assert gap <= 100, f"the caller heard nothing for {gap:.0f} ms at {at_s:.1f} s"
    # Both replies reached the caller too, between the silence.
    heard = tone_spans(peer.audio(), 16000, 1000)
    assert sum(heard) >= 90, sum(heard)
