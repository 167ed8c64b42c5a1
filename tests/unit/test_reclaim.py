"""The call-row sweep that closes what a dead process (or a full disk) left open."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest

from receptionist.ari import AriClient
from receptionist.core.outcomes import Outcome
from receptionist.service import reclaim
from receptionist.service.app import ReceptionistApp
from receptionist.settings import Settings
from receptionist.store.log import AsyncStore, Store
from receptionist.store.records import CallOwner
from tests.fakes.ari import FakeAri
from tests.unit.store_backends import (  # noqa: F401 (fixtures: SQLite and PostgreSQL)
    AnyStore,
    database_fixture,
    store_fixture,
)
from tests.waiting import eventually


def test_open_rows_no_running_call_owns_are_closed_with_the_reason() -> None:
    store = Store(":memory:")
    for call_id in ("dead-1", "dead-2", "live", "done"):
        store.start_call(call_id, "acme", "+15550001111", call_id)
    store.add_outcome("done", "completed")
    store.end_call("done")
    assert store.close_open_calls(frozenset({"live"}), Outcome.SERVICE_RESTART) == 2
    for call_id in ("dead-1", "dead-2"):
        record = store.get_call(call_id)
        assert record is not None and record.ended_at is not None
        assert record.outcomes == ("service_restart",)
    live, done = store.get_call("live"), store.get_call("done")
    assert live is not None and live.ended_at is None and live.outcomes == ()
    assert done is not None and done.outcomes == ("completed",)
    assert store.close_open_calls(frozenset({"live"}), Outcome.SERVICE_RESTART) == 0


def test_a_sweep_closes_only_the_rows_of_its_own_asterisk(store: AnyStore) -> None:
    # Several Asterisk servers share the call log: server A's sweep cannot see B's
    # channels, so B's rows are not A's to close; rows from before servers were
    # recorded are anyone's, as they were.
    a, b = (
        CallOwner("box-a/receptionist", "pbx-a/02:00:00:00:00:0a"),
        CallOwner("box-b/receptionist", "pbx-b/02:00:00:00:00:0b"),
    )
    store.start_call("a-dead", "acme", None, "a-dead", owner=a)
    store.start_call("b-live", "acme", None, "b-live", owner=b)
    store.start_call("old", "acme", None, "old")
    closed = store.close_open_calls(frozenset(), Outcome.SERVICE_RESTART, asterisk=a.asterisk)
    assert closed == 2
    rows = {c: store.get_call(c) for c in ("a-dead", "b-live", "old")}
    assert all(row is not None for row in rows.values())
    ended = {c: row.ended_at is not None for c, row in rows.items() if row is not None}
    assert ended == {"a-dead": True, "b-live": False, "old": True}
    row = rows["b-live"]
    assert row is not None and (row.instance, row.asterisk) == (b.instance, b.asterisk)


async def test_a_starting_instance_closes_only_the_rows_of_callers_gone_or_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Instances share one call log: a row whose caller Asterisk still has is another
    # instance's live call (here one it transferred and follows), never this one's past.
    ari = FakeAri()
    elsewhere = ari.caller_elsewhere("receptionist-transfer")
    handed = ari.caller_elsewhere("receptionist-fallback")  # by serve, before the app ran
    reader = Store(tmp_path / "calls.db")
    here = CallOwner("box/receptionist", ari.server)
    for call_id in ("dead", elsewhere, handed):
        reader.start_call(call_id, "acme", "+15550001111", call_id, owner=here)
    # A live call on another Asterisk server sharing the call log: not this one's to judge.
    other_server = CallOwner("box-b/receptionist", "pbx-b/02:00:00:00:00:0b")
    reader.start_call("on-b", "acme", "+15550001111", "on-b", owner=other_server)
    monkeypatch.setattr(reclaim, "SWEEP_EVERY_S", 0.05)
    store = AsyncStore(tmp_path / "calls.db")
    app = ReceptionistApp(Settings(audiosocket_port=0), {}, store, cast(AriClient, ari), None)
    app.handed_at_start = (handed,)

    def outcomes(call_id: str) -> tuple[str, ...] | None:
        row = reader.get_call(call_id)
        assert row is not None
        return row.outcomes if row.ended_at is not None else None

    task = asyncio.create_task(app.run())
    try:
        await eventually(lambda: outcomes("dead") and outcomes(handed), 5)
        assert outcomes("dead") == outcomes(handed) == (Outcome.SERVICE_RESTART,)
        await ari.wait_for("channels", times=3)  # the first close, then two sweeps
        assert outcomes(elsewhere) is None
        ari.caller_hangs_up(elsewhere)  # its instance then failed to write the end
        await eventually(lambda: outcomes(elsewhere), 5)
        assert outcomes(elsewhere) == (Outcome.END_NOT_LOGGED,)
        assert outcomes("on-b") is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()
        reader.close()
