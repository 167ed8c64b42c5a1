"""Recording: consent first, then one file holding both parties (MixMonitor semantics)."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from receptionist.ari import AriClient
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import eventually
from tests.integration.live import has_tone, live_call

pytestmark = pytest.mark.integration

CONSENT_HZ, CALLER_HZ, MODEL_HZ = 600, 440, 1000


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    assert path.is_file(), f"no recording file at {path}"
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getframerate()


def band_energy(x: np.ndarray, rate: int, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    bins = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spectrum[np.abs(bins - freq) < 15].sum())


async def test_bridge_recording_holds_both_parties_after_the_consent(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(
        replies=[
            Reply(tone24(CONSENT_HZ, 1.0), "This call may be recorded. How can I help?"),
            Reply(tone24(MODEL_HZ, 1.5), "Of course."),
        ],
        caller_transcripts=["I have a question"],
    )

    def bridge_mode(data: dict[str, Any]) -> None:
        data["recording"]["mode"] = "bridge"

    options: dict[str, Any] = {"recording": True, "edit": bridge_mode}
    async with live_call(ari, sandbox, tmp_path, script, **options) as (live, _, call):
        assert call.peer is not None
        creates = await live.fake.wait_for("response.create")
        assert "may be recorded" in (creates[0].response.instructions or "")
        await call.peer.wait_frames(has_tone(CONSENT_HZ), 48)  # the consent has played
        await call.peer.wait_quiet()
        consented = len(call.peer.frames)
        await call.peer.send_paced(tone(CALLER_HZ, 1500))
        await call.peer.send_paced(bytes(16000 * 2))
        await live.fake.wait_sent("response.done", 2)
        await call.peer.wait_frames(has_tone(MODEL_HZ), 73, start=consented)  # the 1.5 s reply
        await call.peer.wait_quiet()
        await ari.hangup(call.dialplan_id)

        def recorded() -> bool:
            record = live.store.get_call(call.dialplan_id)
            return record is not None and bool(record.recordings)

        await eventually(recorded)
        record = live.store.get_call(call.dialplan_id)
        assert record is not None
        recording = record.recordings[0]
        audio, rate = read_wav(Path(recording.path))
        x = audio.astype(np.float64)
        caller = band_energy(x, rate, CALLER_HZ)
        model = band_energy(x, rate, MODEL_HZ)
        consent = band_energy(x, rate, CONSENT_HZ)
        assert caller > 20 * consent and model > 20 * consent, (caller, model, consent)
        assert recording.duration_s is not None
        assert recording.duration_s == pytest.approx(len(audio) / rate, abs=0.5)
