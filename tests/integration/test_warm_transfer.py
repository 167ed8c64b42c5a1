"""Warm transfer: the caller holds, staff hear the whisper, then 1 takes the call, 2 not."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo
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
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> AsyncIterator[tuple[Live, Call, str, AudioPeer]]:
    """A caller asked for the front desk; the stand-in at 205 answered and heard the
    whole whisper. Yields (live, caller, staff channel, staff's ear and mouth)."""
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
        await eventually(lambda: heard(staff, WHISPER_HZ) >= 40, 15)  # energy on staff's leg
        yield live, call, staff_id, staff


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
        handoffs = handoffs_of(live.store, call.dialplan_id)
        assert [(h.kind, h.department, h.result) for h in handoffs] == [
            ("transfer", "Front Desk", "declined")
        ]
        await ari.hangup(call.dialplan_id)


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
        assert "NOANSWER" in (creates[-1].response.instructions or "")
        handoffs = handoffs_of(live.store, call.dialplan_id)
        assert [(h.kind, h.result) for h in handoffs] == [("transfer", "missed")]
        await ari.hangup(call.dialplan_id)
