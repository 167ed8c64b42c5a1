"""Warm transfer: the caller holds, staff hear the whisper, then 1 takes the call, 2 not."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo, chroot_command
from receptionist.store.handoffs import handoffs_of
from receptionist.store.log import Store
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioPeer,
    AudioSocketPeer,
    Call,
    attach_audio_leg,
    eventually,
)
from tests.integration.live import Live, live_call, tone_spans

pytestmark = pytest.mark.integration

WHISPER_HZ, CALLER_HZ, STAFF_HZ = 800, 440, 1400
SUMMARY = "Sam Lee is calling about a bill."
CALLER_NUMBER = "+15550001111"  # the simulated caller's (harness.CALLER_ID)


def warm_front_desk(data: dict[str, Any]) -> None:
    front_desk = data["routing"]["departments"][0]
    front_desk["extension"] = "Local/205@ext-local"  # rings 5 s, then a stand-in answers
    front_desk["mode"] = "warm"
    data["routing"]["warm_ring_seconds"] = 10


def script() -> Script:
    transfer = ToolCall("transfer_call", {"department": "Front Desk", "summary": SUMMARY})
    return Script(
        replies=[
            Reply(tone24(1000, 0.5), "Let me get the front desk.", calls=(transfer,)),
            Reply(tone24(WHISPER_HZ, 1.0), f"{SUMMARY} Press 1 to take the call."),  # whisper
            Reply(tone24(1000, 0.5), "They can't take your call. Can I take a message?"),
        ]
    )


def heard(peer: AudioPeer, freq: float, since: float = 0.0) -> int:
    return sum(tone_spans(peer.audio(since), 16000, freq))


@contextlib.asynccontextmanager
async def staff_picked_up(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, *, talk_s: float = 0.0
) -> AsyncIterator[tuple[Live, Call, str, AudioPeer]]:
    """A caller asked for the front desk; the stand-in at 205 answered (talking for
    `talk_s` from the moment it picked up, over the whisper) and heard the whisper.
    Yields (live, caller, staff channel, staff's ear and mouth)."""
    apps = f"{CALLER_APP},{PEOPLE_APP}"
    async with (
        live_call(ari, sandbox, tmp_path, script(), apps=apps, edit=warm_front_desk) as (
            live,
            watcher,
            call,
        ),
        AudioSocketPeer() as ear,
    ):
        answered = await watcher.wait_for(
            lambda e: isinstance(e, StasisStart) and list(e.args) == ["frontdesk"], timeout=30
        )
        assert isinstance(answered, StasisStart)
        staff_id = answered.channel.id
        _, staff = await attach_audio_leg(ari, watcher, ear, staff_id, PEOPLE_APP)
        talking = asyncio.create_task(staff.send_paced(tone(STAFF_HZ, round(talk_s * 1000))))
        await eventually(lambda: heard(staff, WHISPER_HZ) >= 40, 15)  # energy on staff's leg
        await talking
        await staff.wait_quiet()
        yield live, call, staff_id, staff


async def staff_shown(ari: AriClient, staff_id: str) -> None:
    """What the stand-in's phone (the test's audio leg bridged with the staff channel) is
    shown as the other party, its connected line: the caller's number, not a channel id."""
    bridges = await ari.request("GET", "bridges")
    [bridge] = [b for b in bridges if staff_id in b.get("channels", [])]
    [phone] = [c for c in bridge["channels"] if c != staff_id]
    shown = (await ari.request("GET", f"channels/{phone}"))["connected"]
    assert shown == {"name": "Transfer", "number": CALLER_NUMBER}, shown


async def no_bridges_left(ari: AriClient) -> None:
    """The receptionist's bridges (the call's, the whisper's, the warm one) are all gone."""

    async def none_left() -> bool:
        bridges = await ari.request("GET", "bridges")
        return not [b for b in bridges if str(b.get("name", "")).startswith("rx-")]

    await eventually(none_left)


async def test_staff_talking_over_the_whisper_hear_all_of_it(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Staff say "hello" as they pick up: the whisper plays on their own bridge, so their
    voice never reaches the caller's model (whose barge-in used to cut the whisper) and
    their key 1 is not the caller's."""
    caplog.set_level(logging.INFO)
    async with staff_picked_up(ari, sandbox, tmp_path, talk_s=3.0) as (live, call, staff_id, staff):
        await staff_shown(ari, staff_id)
        whisper_ms = int(heard(staff, WHISPER_HZ)) * 20
        report["warm_whisper_heard_ms_of_1000_with_staff_talking"] = whisper_ms
        assert whisper_ms >= 940, f"staff heard {whisper_ms} of 1000 ms of the whisper"
        speech = [e for e in live.fake.sent_events("input_audio_buffer.speech_started")]
        assert speech == [], "staff audio reached the caller's model"
        await ari.send_dtmf(staff_id, "1")
        await eventually(
            lambda: [h.result for h in handoffs_of(live.store, call.dialplan_id)] == ["answered"]
        )
        logged = [r.getMessage() for r in caplog.records]
        assert any("warm transfer accepted" in line for line in logged)  # the log is seen
        assert not [line for line in logged if "caller dtmf" in line], "staff's 1 as the caller's"
        await ari.hangup(staff_id)
        await eventually(lambda: _ended(live.store, call.dialplan_id))
    await no_bridges_left(ari)


async def test_a_caller_hanging_up_after_the_accept_leaves_no_bridge(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    async with staff_picked_up(ari, sandbox, tmp_path) as (live, call, staff_id, _):
        await ari.send_dtmf(staff_id, "1")
        await eventually(
            lambda: [h.result for h in handoffs_of(live.store, call.dialplan_id)] == ["answered"]
        )
        await ari.hangup(call.dialplan_id)  # the caller first
        await eventually(lambda: _ended(live.store, call.dialplan_id))
        await no_bridges_left(ari)


async def test_staff_hear_the_whisper_and_1_connects_the_caller(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    async with staff_picked_up(ari, sandbox, tmp_path) as (live, call, staff_id, staff):
        assert call.peer is not None
        assert heard(call.peer, WHISPER_HZ) == 0  # the caller was on hold meanwhile
        await ari.send_dtmf(staff_id, "1")
        await eventually(
            lambda: [h.result for h in handoffs_of(live.store, call.dialplan_id)] == ["answered"]
        )
        mark = time.monotonic()
        await call.peer.send_paced(tone(CALLER_HZ, 1000))
        await eventually(lambda: heard(staff, CALLER_HZ, mark) >= 25)
        await staff.send_paced(tone(STAFF_HZ, 1000))
        await eventually(lambda: heard(call.peer, STAFF_HZ, mark) >= 25)
        await ari.hangup(staff_id)  # staff hang up: the call is over
        await eventually(lambda: _ended(live.store, call.dialplan_id))
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "transfer_answered" in record.outcomes
    await no_bridges_left(ari)


async def test_2_sends_the_caller_back_to_the_receptionist_who_offers_a_message(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    async with staff_picked_up(ari, sandbox, tmp_path) as (live, call, staff_id, _):
        await ari.send_dtmf(staff_id, "2")
        live.fake.wait_timeout_s = 20
        await live.fake.wait_until(lambda: len(live.fake.connections) >= 3)  # call, whisper, back
        creates = await live.fake.wait_for("response.create", 3)
        instructions = creates[-1].response.instructions or ""
        assert "offer to take a message" in instructions and "DECLINED" in instructions
        # The truth, with the department's name: they picked up and said no.
        assert "transferred to Front Desk but they picked up and could not take" in instructions
        handoffs = handoffs_of(live.store, call.dialplan_id)
        assert [(h.kind, h.department, h.result) for h in handoffs] == [
            ("transfer", "Front Desk", "declined")
        ]
        await ari.hangup(call.dialplan_id)
    await no_bridges_left(ari)


def _ended(store: Store, call_id: str) -> bool:
    record = store.get_call(call_id)
    return record is not None and record.ended_at is not None


async def test_no_answer_sends_the_caller_back_too(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    def never_answered(data: dict[str, Any]) -> None:
        warm_front_desk(data)
        data["routing"]["departments"][0]["extension"] = "Local/206@ext-local"  # rings on
        data["routing"]["warm_ring_seconds"] = 5

    replies = script().replies
    replies.remove(replies[1])  # no whisper: nobody picks up
    async with live_call(ari, sandbox, tmp_path, Script(replies), edit=never_answered) as (
        live,
        _,
        call,
    ):
        live.fake.wait_timeout_s = 20
        await live.fake.wait_until(lambda: len(live.fake.connections) >= 2)  # call, back
        creates = await live.fake.wait_for("response.create", 2)
        instructions = creates[-1].response.instructions or ""
        assert "transferred to Front Desk but nobody answered (NOANSWER)" in instructions
        handoffs = handoffs_of(live.store, call.dialplan_id)
        assert [(h.kind, h.result) for h in handoffs] == [("transfer", "missed")]
        await ari.hangup(call.dialplan_id)
    await no_bridges_left(ari)


@pytest.fixture
def traced_desk_phone(sandbox: SandboxInfo) -> Iterator[Path]:
    """Desk phone 203 (a sipp UAS that answers), writing the SIP it gets to the file
    yielded."""
    trace = f"tmp/rx-warm-{uuid.uuid4().hex}.log"
    command = chroot_command(
        sandbox.chroot, "sipp", "-sn", "uas", "-i", "127.0.0.1", "-mi", "127.0.0.1",
        "-p", str(sandbox.sipp_phone_port), "-rtp_echo", "-nostdin", "-timeout", "60",
        "-trace_msg", "-message_file", f"/{trace}",
    )  # fmt: skip
    phone = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    log_file = Path(sandbox.chroot) / trace
    try:
        yield log_file
    finally:
        os.killpg(phone.pid, signal.SIGKILL)  # sipp's PID namespace goes with it
        phone.wait(5)
        log_file.unlink(missing_ok=True)


async def test_the_staff_desk_phone_is_shown_the_callers_number(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, traced_desk_phone: Path
) -> None:
    """A real SIP phone (sipp at 203) rung by a warm transfer: its INVITE's From carries
    the caller's number (it used to carry the receptionist's channel id)."""
    log_file = traced_desk_phone

    def desk_203(data: dict[str, Any]) -> None:
        warm_front_desk(data)
        data["routing"]["departments"][0]["extension"] = "PJSIP/203"

    async with live_call(ari, sandbox, tmp_path, script(), edit=desk_203) as (live, _, call):
        await eventually(lambda: log_file.exists() and "INVITE sip:" in log_file.read_text(), 20)
        invite = log_file.read_text().split("INVITE sip:", 1)[1]
        from_header = next(line for line in invite.splitlines() if line.startswith("From:"))
        assert CALLER_NUMBER in from_header and "rx-" not in from_header, from_header
        await ari.hangup(call.dialplan_id)
        await eventually(lambda: _ended(live.store, call.dialplan_id))
    await no_bridges_left(ari)
