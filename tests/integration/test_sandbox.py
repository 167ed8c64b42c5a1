"""The telephony test bed itself: the real sandbox Asterisk and the shipped dialplan."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.audio.tones import dominant_frequency, tone
from receptionist.sandbox import SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    attach_audio_leg,
    place_call,
    reached_operator,
)
from tests.integration.live import has_tone

pytestmark = pytest.mark.integration


def _app() -> str:
    """A fresh ARI app name per test, so nothing else receives its calls."""
    return f"rx-{uuid.uuid4().hex[:8]}"


async def test_sandbox_runs_asterisk_22(ari: AriClient, sandbox: SandboxInfo) -> None:
    version = await ari.version()
    assert version.startswith("22."), version
    assert sandbox.ari_url.startswith("http://127.0.0.1:")


def test_sandbox_runs_asterisk_at_realtime_priority_as_debian_does(sandbox: SandboxInfo) -> None:
    """Debian's asterisk.service starts Asterisk with -p (`highpriority`): every thread at
    SCHED_RR 10, so the media threads get a core before ordinary processes. The sandbox
    runs it the same way, and the receptionist shares the machine with it as it would."""
    # sandbox.pid is `unshare --fork`, Asterisk its one child (launcher.chroot_command).
    (child,) = Path(f"/proc/{sandbox.pid}/task/{sandbox.pid}/children").read_text().split()
    tasks = list(Path(f"/proc/{child}/task").iterdir())
    # /proc/PID/task/TID/stat, after the command's closing parenthesis: field 40 is
    # rt_priority, 41 the policy (2: SCHED_RR).
    stats = [t.joinpath("stat").read_text().rsplit(")", 1)[1].split() for t in tasks]
    policies = {(fields[37], fields[38]) for fields in stats}
    assert len(tasks) > 10 and policies == {("10", "2")}


async def test_inbound_call_reaches_stasis_with_business(ari: AriClient) -> None:
    app = _app()
    async with EventWatcher(ari, f"{app},{CALLER_APP}") as watcher:
        call = await place_call(
            ari,
            watcher,
            None,
            "5551234",
            variables={"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": "example-dental"},
        )
        start = await watcher.stasis_start(app, id=call.dialplan_id)
        assert start.args == ("inbound", "example-dental", "5551234")
        await ari.hangup(call.dialplan_id)


async def test_inbound_business_chosen_by_did_when_not_given(ari: AriClient) -> None:
    app = _app()
    async with EventWatcher(ari, f"{app},{CALLER_APP}") as watcher:
        call = await place_call(
            ari, watcher, None, "+15557654321", variables={"__RECEPTIONIST_APP": app}
        )
        start = await watcher.stasis_start(app, id=call.dialplan_id)
        # No business on the channel: the app resolves it from the DID.
        assert start.args == ("inbound", "", "+15557654321")
        await ari.hangup(call.dialplan_id)


@pytest.mark.parametrize(
    ("fmt", "rate", "kind"), [("slin16", 16000, 0x12), ("slin24", 24000, 0x13)]
)
async def test_audiosocket_wideband_leg_carries_tones_both_ways(
    ari: AriClient, fmt: str, rate: int, kind: int
) -> None:
    """The caller's channel is slin16; a slin24 leg (the service's default) gets its audio
    converted by Asterisk both ways."""
    app = _app()
    async with (
        EventWatcher(ari, f"{app},{CALLER_APP}") as watcher,
        AudioSocketPeer() as caller_side,
        AudioSocketPeer() as app_side,
    ):
        call_task = asyncio.create_task(
            place_call(ari, watcher, caller_side, "100", variables={"__RECEPTIONIST_APP": app})
        )
        start = await watcher.stasis_start(app, timeout=10)
        await ari.answer(start.channel.id)
        _, receptionist = await attach_audio_leg(
            ari, watcher, app_side, start.channel.id, app, fmt=fmt
        )
        call = await call_task
        assert call.peer is not None

        # The app side sends 1 kHz for a second, the caller 440 Hz at the same time.
        await asyncio.gather(
            receptionist.send_paced(tone(1000, 1000, rate), rate),
            call.peer.send_paced(tone(440, 1000)),
        )
        await call.peer.wait_frames(has_tone(1000), 45)
        await receptionist.wait_frames(has_tone(440, rate), 45)
        await asyncio.gather(call.peer.wait_quiet(), receptionist.wait_quiet())

        assert receptionist.kinds_in_order[0] == 0x01, "the UUID message comes first"
        audio_kinds = set(receptionist.kinds_in_order[1:])
        assert audio_kinds == {kind}, f"expected only {fmt} frames, got {audio_kinds}"
        sizes = {len(f.pcm) for _, f in receptionist.frames}
        assert sizes == {rate // 50 * 2}, sizes

        heard_by_caller = call.peer.audio()
        heard_by_app = receptionist.audio()
        assert len(heard_by_caller) > 16000, "the caller heard less than half a second"
        assert dominant_frequency(heard_by_caller, 16000) == pytest.approx(1000, abs=10)
        assert dominant_frequency(heard_by_app, rate) == pytest.approx(440, abs=10)
        await ari.hangup(call.dialplan_id)


async def test_fallback_runs_when_app_not_connected(ari: AriClient) -> None:
    # Nobody is connected as this app: Stasis() fails at once and the dialplan
    # must send the caller to the operator instead of dead air.
    app = _app()
    async with EventWatcher(ari, f"{PEOPLE_APP},{CALLER_APP}") as watcher:
        call = await place_call(
            ari, watcher, None, "5551234", variables={"__RECEPTIONIST_APP": app}
        )
        [operator] = await reached_operator(ari, watcher, app, PEOPLE_APP, timeout=15)
        assert operator.args == ("operator",)
        reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
        assert reason == "app-unavailable"
        status = await ari.get_variable(call.dialplan_id, "STASISSTATUS")
        assert status == "FAILED"
        await ari.hangup(call.dialplan_id)


async def test_transfer_no_answer_returns_to_stasis_with_reason(ari: AriClient) -> None:
    app = _app()
    async with EventWatcher(ari, f"{app},{CALLER_APP}") as watcher:
        call = await place_call(
            ari,
            watcher,
            None,
            "5551234",
            variables={
                "__RECEPTIONIST_APP": app,
                "__RECEPTIONIST_BUSINESS": "example-dental",
                "__RECEPTIONIST_TRANSFER_TIMEOUT": "2",
            },
        )
        first = await watcher.stasis_start(app, id=call.dialplan_id)
        await ari.answer(first.channel.id)
        await ari.set_variable(
            first.channel.id, "RECEPTIONIST_TRANSFER_TARGET", "Local/silent@sandbox-people"
        )
        mark = len(watcher.events)
        await ari.continue_in_dialplan(first.channel.id, "receptionist-transfer", "s")

        def back(e: object) -> bool:
            return isinstance(e, StasisStart) and e.channel.id == call.dialplan_id

        again = await watcher.wait_for(back, timeout=15, after=mark)
        assert isinstance(again, StasisStart)
        assert again.args == ("transfer-failed", "example-dental", "5551234", "NOANSWER")
        await ari.hangup(call.dialplan_id)


async def test_bursts_of_ari_requests_stay_within_asterisks_http_session_limit(
    sandbox: SandboxInfo,
) -> None:
    """Many calls setting up at once each make ARI requests, and another ARI application
    on the PBX may be busy too. Asterisk's HTTP server (http.conf sessionlimit, 100 by
    default) drops connections beyond its limit; a client opening one per request in
    flight would see errors and send those callers to the fallback."""
    clients = [AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(c.asterisk_info() for c in clients for _ in range(150)), return_exceptions=True
        )
    finally:
        for client in clients:
            await client.close()
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert all(r["system"]["version"] for r in results if isinstance(r, dict))
