"""Full-call recording: one file from the consent to the hang-up, staff included."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, ChannelDestroyed, StasisStart
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP, eventually
from tests.integration.live import has_tone, live_call, tone_spans

pytestmark = pytest.mark.integration

RECEPTIONIST_HZ, CALLER_HZ, STAFF_HZ = 1000, 440, 1400


def full_recording(data: dict[str, Any]) -> None:
    data["recording"]["mode"] = "full"
    data["routing"]["departments"][0]["extension"] = "Local/205@ext-local"


async def test_full_recording_holds_receptionist_caller_and_staff_in_one_file(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(
        replies=[
            Reply(tone24(RECEPTIONIST_HZ, 1.0), "This call may be recorded. How can I help?"),
            Reply(tone24(RECEPTIONIST_HZ, 1.0), "Connecting you to the front desk.",
                  calls=(ToolCall("transfer_call", {"department": "Front Desk"}),)),
        ],
        caller_transcripts=["The front desk, please"],
    )  # fmt: skip
    apps = f"{CALLER_APP},{PEOPLE_APP}"
    options: dict[str, Any] = {"recording": True, "edit": full_recording, "apps": apps}
    async with live_call(ari, sandbox, tmp_path, script, **options) as (live, watcher, call):
        assert call.peer is not None
        await eventually(lambda: live.store.get_call(call.dialplan_id) is not None)

        async def recording_file() -> str | None:
            return await ari.get_variable(call.dialplan_id, "CDR(recordingfile)")

        await eventually(recording_file, 10)  # the consent played: MixMonitor runs
        name = await recording_file()
        await call.peer.send_paced(tone(CALLER_HZ, 1500))
        await call.peer.send_paced(bytes(16000 * 2))
        staff = await watcher.wait_for(
            lambda e: isinstance(e, StasisStart) and list(e.args) == ["frontdesk"], timeout=30
        )
        assert isinstance(staff, StasisStart)
        staff_from = len(call.peer.frames)
        await ari.play(staff.channel.id, f"tone:{STAFF_HZ}/1500")
        # Staff speaks to the caller: until the caller has heard 1.4 s of it.
        await call.peer.wait_frames(has_tone(STAFF_HZ), 70, start=staff_from)
        mark = len(watcher.events)
        await ari.hangup(call.dialplan_id)
        await watcher.wait_for(
            lambda e: isinstance(e, ChannelDestroyed) and e.channel.id == call.dialplan_id,
            after=mark,
        )

    assert name is not None and name.endswith(".wav")
    path = Path(sandbox.run_dir) / "spool" / "recording" / name
    record = live.store.get_call(call.dialplan_id)
    assert record is not None and [Path(r.path).name for r in record.recordings] == [name]
    with wave.open(str(path)) as wav:
        pcm, rate = wav.readframes(wav.getnframes()), wav.getframerate()
    heard = {hz: sum(tone_spans(pcm, rate, hz)) for hz in (RECEPTIONIST_HZ, CALLER_HZ, STAFF_HZ)}
    print(f"full recording {name}: 20 ms frames per tone {heard}")
    # Frames of 20 ms: the reply after the consent, the caller, and staff after the transfer.
    assert heard[RECEPTIONIST_HZ] >= 40, heard
    assert heard[CALLER_HZ] >= 60, heard
    assert heard[STAFF_HZ] >= 60, heard
