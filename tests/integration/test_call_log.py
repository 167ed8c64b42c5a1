"""Call-log truth: the row follows the caller after the receptionist (real end, results)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.sandbox import SandboxInfo
from receptionist.store.handoffs import Handoff, handoffs_of
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.records import CallRecord
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP, eventually, reached_operator
from tests.integration.live import live_call
from tests.unit.store_backends import database_fixture  # noqa: F401 (fixture: both engines)

pytestmark = pytest.mark.integration

APPS = f"{CALLER_APP},{PEOPLE_APP}"


def departments(data: dict[str, Any]) -> None:
    data["routing"]["departments"][0]["extension"] = "Local/205@ext-local"  # answers after 5 s
    data["routing"]["departments"][1]["extension"] = "Local/206@ext-local"  # never answers


def transfer_to(department: str) -> Script:
    return Script(
        replies=[
            Reply(tone24(1000, 0.3), "Connecting you.",
                  calls=(ToolCall("transfer_call", {"department": department}),)),
            Reply(tone24(1000, 0.3), "Nobody answered. Can I take a message?"),
        ]
    )  # fmt: skip


def duration_s(record: CallRecord) -> float:
    assert record.ended_at is not None
    return (record.ended_at - record.started_at).total_seconds()


async def ended(store: Store, call_id: str, after: datetime) -> CallRecord:
    """The row once its end is the channel's end (at or after `after`)."""

    def done() -> bool:
        record = store.get_call(call_id)
        return record is not None and record.ended_at is not None and record.ended_at >= after

    await eventually(done, 10)
    record = store.get_call(call_id)
    assert record is not None
    return record


async def test_answered_transfer_row_has_the_real_end_and_the_department(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = transfer_to("Front Desk")
    async with live_call(ari, sandbox, tmp_path, script, apps=APPS, edit=departments) as (
        live,
        watcher,
        call,
    ):
        started = time.monotonic()
        await watcher.wait_for(
            lambda e: isinstance(e, StasisStart) and list(e.args) == ["frontdesk"], timeout=30
        )
        await eventually(lambda: "transfer_answered" in _outcomes(live.store, call.dialplan_id))
        talk_until = datetime.now().astimezone()
        await ari.hangup(call.dialplan_id)  # the caller and staff talked, then hung up
        record = await ended(live.store, call.dialplan_id, talk_until)
        elapsed = time.monotonic() - started

    assert duration_s(record) >= elapsed - 1.5, (duration_s(record), elapsed)
    assert {"transferred", "transfer_answered"} <= set(record.outcomes)
    assert handoffs_of(live.store, call.dialplan_id) == [
        Handoff(call.dialplan_id, "transfer", "Front Desk", "Local/205@ext-local", "answered")
    ]


async def test_missed_transfer_row_says_so_and_lasts_until_the_caller_hangs_up(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = transfer_to("Billing")
    async with live_call(ari, sandbox, tmp_path, script, apps=APPS, edit=departments) as (
        live,
        _,
        call,
    ):
        started = time.monotonic()
        live.fake.wait_timeout_s = 30
        await live.fake.wait_until(lambda: len(live.fake.connections) >= 2)  # came back
        await live.fake.wait_sent("response.done", 2)
        until = datetime.now().astimezone()
        await ari.hangup(call.dialplan_id)
        record = await ended(live.store, call.dialplan_id, until)
        elapsed = time.monotonic() - started

    assert duration_s(record) >= elapsed - 1.5, (duration_s(record), elapsed)
    assert {"transferred", "transfer_missed", "transfer_failed"} <= set(record.outcomes)
    assert handoffs_of(live.store, call.dialplan_id) == [
        Handoff(call.dialplan_id, "transfer", "Billing", "Local/206@ext-local", "missed")
    ]


async def test_fallback_row_records_that_the_operator_answered(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, database: Path | PostgresUrl
) -> None:
    """On both engines: the handoff row and its result are logged (PostgreSQL too)."""
    script = Script(replies=[Reply(tone24(1000, 0.5), "Hello")])
    running = live_call(ari, sandbox, tmp_path, script, apps=APPS, database=database)
    async with running as (live, watcher, call):
        started = time.monotonic()
        await live.fake.wait_sent("response.done")
        await ari.send_dtmf(call.caller_id, "0")
        [operator] = await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        await ari.answer(operator.channel.id)
        await eventually(lambda: "operator_answered" in _outcomes(live.store, call.dialplan_id))
        until = datetime.now().astimezone()
        await ari.hangup(call.dialplan_id)
        record = await ended(live.store, call.dialplan_id, until)
        elapsed = time.monotonic() - started

    assert duration_s(record) >= elapsed - 1.5, (duration_s(record), elapsed)
    assert {"fallback", "caller_pressed_0", "operator_answered"} <= set(record.outcomes)
    assert handoffs_of(live.store, call.dialplan_id) == [
        Handoff(call.dialplan_id, "operator", None, None, "answered")
    ]


def _outcomes(store: Store, call_id: str) -> set[str]:
    record = store.get_call(call_id)
    return set(record.outcomes) if record is not None else set()
