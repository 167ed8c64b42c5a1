"""A blind transfer never leaves the caller in silence: prompt, then hold music or ringback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import HOLD_MUSIC_HZ
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP
from tests.integration.live import REPO, live_call, tone_spans
from tests.integration.sounds import max_gap_ms, prompt_match

pytestmark = pytest.mark.integration

RING_S = 5  # [ext-local] 205 in the sandbox rings this long before answering


def _ringing_front_desk(hold_music: str | None) -> Any:
    def edit(data: dict[str, Any]) -> None:
        data["routing"]["departments"][0]["extension"] = "Local/205@ext-local"
        data["routing"]["hold_music"] = hold_music

    return edit


@pytest.mark.parametrize("hold_music", ["default", None], ids=["moh", "ringback"])
async def test_caller_hears_the_prompt_then_hold_audio_while_the_department_rings(
    ari: AriClient,
    sandbox: SandboxInfo,
    tmp_path: Path,
    report: dict[str, object],
    hold_music: str | None,
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.5), "Connecting you to the front desk.",
                  calls=(ToolCall("transfer_call", {"department": "front desk"}),)),
        ]
    )  # fmt: skip
    edit = _ringing_front_desk(hold_music)
    apps = f"{CALLER_APP},{PEOPLE_APP}"
    async with live_call(ari, sandbox, tmp_path, script, apps=apps, edit=edit) as (
        _,
        watcher,
        call,
    ):
        assert call.peer is not None
        answer = await watcher.wait_for(
            lambda e: isinstance(e, StasisStart) and list(e.args) == ["frontdesk"], timeout=30
        )
        answered_at = time.monotonic()
        assert isinstance(answer, StasisStart)
        heard = call.peer.audio()
        gap, gap_at = max_gap_ms(call.peer.frames, answered_at)
        await ari.hangup(call.dialplan_id)

    name = hold_music or "ringback"
    report[f"transfer_{name}_caller_max_gap_ms"] = round(gap, 1)
    print(f"transfer with {name}: caller's max gap {gap:.1f} ms at {gap_at:.1f} s")
    assert gap <= 100, f"the caller heard nothing for {gap:.0f} ms at {gap_at:.1f} s"
    match = prompt_match(heard, REPO / "sounds" / "transfer.wav")
    assert match > 0.8, f"transfer prompt not heard (correlation {match:.2f})"
    # The sandbox's 600 Hz hold music through the ring, or ringback (US: 440 + 480 Hz).
    if hold_music:
        held = sum(tone_spans(heard, 16000, HOLD_MUSIC_HZ))
        assert held >= (RING_S - 1) * 50, f"only {held} frames of hold music"
    else:
        held = sum(tone_spans(heard, 16000, 440)) + sum(tone_spans(heard, 16000, 480))
        assert held >= 50, f"only {held} frames of ringback"  # 2 s on, 4 s off
