"""No caller is stranded by a model that says nothing or loops on tools: through the real
Asterisk, the caller hears ring, a filler at most, then the fallback prompt, and the call
row says why."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_script import SilentModel, ToolLoop
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    eventually,
    place_call,
    reached_operator,
)
from tests.integration.live import receptionist

pytestmark = pytest.mark.integration

APPS = f"{CALLER_APP},{PEOPLE_APP}"


def loud_times(frames: list[tuple[float, object]]) -> list[float]:
    """Arrival times of the frames the caller could hear (speech, not silence)."""
    out = []
    for at, frame in frames:
        x = np.frombuffer(frame.pcm, dtype="<i2").astype(np.float64)  # type: ignore[attr-defined]
        if len(x) and np.sqrt(np.mean(x**2)) > 300:
            out.append(at)
    return out


@pytest.mark.parametrize("model", ["stalls_the_handshake", "never_speaks"])
async def test_a_model_that_never_answers_costs_ring_then_the_fallback(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object], model: str
) -> None:
    async with (
        receptionist(sandbox, tmp_path, SilentModel()) as live,
        EventWatcher(ari, APPS) as watcher,
        AudioSocketPeer() as ear,
    ):
        if model == "stalls_the_handshake":
            live.fake.handshake_delay_s = 30.0  # accepts the connection, then nothing
        dialled = time.monotonic()
        call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
        await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        peer = call.peer
        assert peer is not None
        await eventually(lambda: len(loud_times(peer.frames)) > 50)  # the fallback prompt
        heard = loud_times(peer.frames)
        record = live.store.get_call(call.dialplan_id)
        await ari.hangup(call.dialplan_id)
    # Ringing (not answered) while the model was not ready; then never 3 s without sound
    # from the answer until the fallback prompt ran.
    ring_s = call.answered_at - dialled
    gaps = np.diff([call.answered_at, *heard])
    report[f"never_answers_{model}_ring_s"] = round(ring_s, 2)
    report[f"never_answers_{model}_longest_silence_s"] = round(float(gaps.max()), 2)
    assert gaps.max() < 3.0, f"{gaps.max():.1f} s of silence"
    assert record is not None
    why = "model_unavailable" if model == "stalls_the_handshake" else "no_model_audio"
    assert {"fallback", why} <= set(record.outcomes)
    if model == "stalls_the_handshake":
        assert ring_s >= 2.5, "answered before the model was ready"


async def test_a_tool_call_loop_is_capped_then_the_fallback(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    async with (
        receptionist(sandbox, tmp_path, ToolLoop()) as live,
        EventWatcher(ari, APPS) as watcher,
        AudioSocketPeer() as ear,
    ):
        call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
        await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
        record = live.store.get_call(call.dialplan_id)
        errors = live.fake.sent_events("error")
        await ari.hangup(call.dialplan_id)
    assert reason == "tool_limit"
    assert record is not None and {"fallback", "tool_limit"} <= set(record.outcomes)
    report["tool_loop_tool_rows"] = len(record.tool_calls)
    assert len(record.tool_calls) < 100
    assert not [e for e in errors if "active response" in e["error"]["message"]]
