"""The call log on both backends (SQLite, PostgreSQL): every write and read, search, the
async interface; and each backend's own schema, migrations and opening rules."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receptionist.core.outcomes import FallbackReason, UnknownOutcome
from receptionist.store.log import AsyncStore, Store, StoreError
from receptionist.store.open import open_store, open_sync_store
from receptionist.store.pg.schema import MIGRATIONS
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.records import to_json
from receptionist.store.schema import migrations
from receptionist.store.sql import Db
from tests.postgres import Cluster
from tests.unit.store_backends import (  # noqa: F401 (fixtures: each test runs on both backends)
    AnyAsyncStore,
    AnyStore,
    async_store_fixture,
    database_fixture,
    store_fixture,
)

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def _call(
    store: AnyStore, call_id: str = "c1", business: str = "dental", at: datetime = T0
) -> None:
    store.start_call(call_id, business, "+12125550123", f"chan-{call_id}", at=at)


def test_schema_wal_and_migrations(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "r.db"
    store = Store(path)
    assert store.db.journal_mode == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    tables = set(store.db.table_names())
    assert {"calls", "turns", "tool_calls", "messages", "recordings", "outcomes"} <= tables
    assert {"turns_fts", "messages_fts"} <= tables
    indexed = {tuple(i.columns) for i in store.db.table("messages").indexes}
    assert {("business", "created_at"), ("status", "created_at"), ("call_id",)} <= indexed
    assert ("call_id", "start_ms") in {tuple(i.columns) for i in store.db.table("turns").indexes}
    store.close()
    again = Store(path)  # reopening applies nothing twice
    applied = [m.name for m in migrations.applied(again.db)]
    assert applied == [
        "0001_initial", "0002_recording_purged_at", "0003_bookings", "0004_web_users",
        "0005_booking_guard", "0006_retention_sweeps", "0007_incremental_vacuum", "0008_outbox",
        "0009_handoffs", "0010_outcome_names", "0011_call_usage", "0012_call_owner",
        "0013_call_answered_at", "0014_callbacks",
    ]  # fmt: skip
    assert migrations.pending(again.db) == []
    again.close()


def test_postgres_schema_and_migrations(pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    Store(url).close()
    again = Store(url)  # reopening applies nothing twice
    db = again.sql
    tables = _column(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    indexes = _column(db, "SELECT indexname FROM pg_indexes")
    rows = db.query("SELECT name FROM receptionist_migrations ORDER BY applied_at, name")
    names = [row["name"] for row in rows]
    assert names == [name for name, _ in MIGRATIONS] == [
        "0001_initial", "0002_recording_purged_at", "0003_bookings", "0004_web_users",
        "0005_booking_guard", "0006_retention_sweeps", "0008_outbox", "0009_handoffs",
        "0010_outcome_enum", "0011_call_usage", "0012_call_owner",
        "0013_call_answered_at", "0014_callbacks",
    ]  # fmt: skip
    assert {"calls", "turns", "tool_calls", "messages", "recordings", "outcomes"} <= tables
    assert {"bookings", "users", "sessions", "audit", "retention_sweeps"} <= tables
    assert {"turns_search", "messages_search", "messages_status_created_at"} <= indexes
    assert "calls_open" in indexes
    again.close()


def _column(db: Db, query: str) -> set[str]:
    return {next(iter(row.values())) for row in db.query(query)}


def test_missing_database_is_not_created_when_reading(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Store(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_call_lifecycle(store: AnyStore) -> None:
    _call(store)
    _call(store, at=T0 + timedelta(minutes=5))  # re-entering keeps the first row
    store.add_turn("c1", "assistant", "Thank you for calling.", 0, 1800)
    store.add_turn("c1", "caller", "I'd like to book a cleaning.", 2500, 4200)
    # The caller's transcript arrives late but belongs before the reply: order by start_ms.
    store.add_turn("c1", "assistant", "Sure, let me help.", 4600, 5600)
    store.add_turn("c1", "caller", "Hi!", 1900, 2300)
    store.add_tool_call("c1", "lookup_faq", '{"question": "x"}', "No answer", 1.23456)
    store.add_recording("c1", "recording/call-c1.wav", 63.5)
    for outcome in ("message_taken", "completed", "message_taken", "transfer_failed"):
        store.add_outcome("c1", outcome)
    store.end_call("c1", at=T0 + timedelta(minutes=2))
    store.end_call("c1", at=T0 + timedelta(minutes=9))  # the first end stands

    call = store.get_call("c1")
    assert call is not None
    assert call.started_at == T0 and call.ended_at == T0 + timedelta(minutes=2)
    assert (call.business, call.caller_number, call.channel_id) == (
        "dental", "+12125550123", "chan-c1",
    )  # fmt: skip
    assert [t.text for t in call.turns] == [
        "Thank you for calling.", "Hi!", "I'd like to book a cleaning.", "Sure, let me help.",
    ]  # fmt: skip
    assert [t.speaker for t in call.turns] == ["assistant", "caller", "caller", "assistant"]
    assert call.outcomes == ("completed", "message_taken", "transfer_failed")
    assert call.tool_calls[0].duration_ms == 1.235
    assert call.recordings[0].path == "recording/call-c1.wav"
    assert call.recordings[0].duration_s == 63.5
    assert call.turn_count == 4
    assert store.get_call("nope") is None


def test_an_unknown_outcome_is_refused(store: AnyStore) -> None:
    _call(store)
    with pytest.raises(UnknownOutcome, match="transfer-failed BUSY"):
        store.add_outcome("c1", "transfer-failed BUSY")  # a writer's free string
    store.add_outcome("c1", FallbackReason.NO_MODEL_AUDIO)  # reasons sit beside fallback
    call = store.get_call("c1")
    assert call is not None and call.outcomes == ("no_model_audio",)


def test_a_tool_row_is_written_as_it_starts_and_completed_as_it_ends(store: AnyStore) -> None:
    _call(store)
    row = store.add_tool_call("c1", "book_appointment", "{}", "(running)", 0.0)
    call = store.get_call("c1")
    assert call is not None and [t.result for t in call.tool_calls] == ["(running)"]
    store.finish_tool_call(row, "Booked.", 3012.3456)
    call = store.get_call("c1")
    assert call is not None
    assert [(t.result, t.duration_ms) for t in call.tool_calls] == [("Booked.", 3012.346)]


def test_bad_speaker_is_refused(store: AnyStore) -> None:
    with pytest.raises(ValueError, match="speaker"):
        store.add_turn("c1", "robot", "beep", 0, 1)  # type: ignore[arg-type]


def test_list_calls_filters_and_search(store: AnyStore) -> None:
    _call(store, "c1", "dental", T0)
    _call(store, "c2", "dental", T0 + timedelta(days=1))
    _call(store, "c3", "bakery", T0 + timedelta(days=2))
    store.add_turn("c2", "caller", "I have a question about my billing statement", 0, 1)
    store.add_turn("c3", "caller", "Do you sell sourdough?", 0, 1)
    assert [c.id for c in store.list_calls()] == ["c3", "c2", "c1"]  # newest first
    assert [c.id for c in store.list_calls(business="dental")] == ["c2", "c1"]
    assert [c.id for c in store.list_calls(since=T0 + timedelta(hours=1))] == ["c3", "c2"]
    assert [c.id for c in store.list_calls(until=T0 + timedelta(hours=1))] == ["c1"]
    assert [c.id for c in store.list_calls(search="bill")] == ["c2"]  # stemmed: billing
    assert [c.id for c in store.list_calls(search='sourdough"?')] == ["c3"]  # quoted safely
    assert [c.id for c in store.list_calls(limit=1)] == ["c3"]
    assert store.list_calls(business="dental")[0].turn_count == 1


def test_resolve_call_id(store: AnyStore) -> None:
    _call(store, "abc-111")
    _call(store, "abc-222")
    assert store.resolve_call_id("abc-111") == "abc-111"
    assert store.resolve_call_id("abc-2") == "abc-222"
    assert store.resolve_call_id("zzz") is None
    with pytest.raises(ValueError, match="several calls"):
        store.resolve_call_id("abc")


def test_messages(store: AnyStore) -> None:
    first = store.add_message("c1", "dental", "Ann", "+19175550142", "Reschedule please", at=T0)
    second = store.add_message(None, "bakery", "Bo", "+12125550123", "Cake order", at=T0)
    later = T0 + timedelta(hours=2)
    third = store.add_message("c2", "dental", "Cy", "+12125550100", "Billing question", at=later)
    assert (first, second, third) == (1, 2, 3)
    message = store.get_message(first)
    assert message is not None and message.status == "new" and message.handled_at is None
    assert message.created_at == T0
    assert [m.id for m in store.list_messages()] == [3, 2, 1]
    assert [m.id for m in store.list_messages(business="dental")] == [3, 1]
    assert [m.id for m in store.list_messages(search="bill")] == [3]
    assert [m.id for m in store.list_messages(search="bo")] == [2]  # caller names too
    assert [m.id for m in store.list_messages(since=T0 + timedelta(hours=1))] == [3]

    assert store.mark_handled(first) is True
    handled = store.get_message(first)
    assert handled is not None and handled.status == "handled" and handled.handled_at
    assert store.mark_handled(first) is True  # idempotent, keeps the first handled time
    assert store.get_message(first).handled_at == handled.handled_at  # type: ignore[union-attr]
    assert store.mark_handled(99) is False
    assert [m.id for m in store.list_messages(status="new")] == [3, 2]
    assert [m.id for m in store.list_messages(status="handled")] == [1]
    assert store.get_message(99) is None


def test_to_json(store: AnyStore) -> None:
    _call(store)
    store.add_turn("c1", "caller", "Hello", 0, 500)
    data = to_json(store.get_call("c1"))
    assert data["started_at"] == "2026-11-30T15:00:00+00:00"
    assert data["turns"] == [
        {"speaker": "caller", "text": "Hello", "start_ms": 0, "end_ms": 500,
         "created_at": data["turns"][0]["created_at"]},
    ]  # fmt: skip
    assert to_json([1, "a"]) == [1, "a"]


def test_two_connections_see_each_other(database: Path | PostgresUrl) -> None:
    writer, reader = open_sync_store(database), open_sync_store(database)
    writer.add_message(None, "dental", "Ann", "+19175550142", "Hi")
    assert len(reader.list_messages()) == 1
    writer.close()
    reader.close()


async def test_async_writes_land_in_order(async_store: AnyAsyncStore) -> None:
    await async_store.start_call("c1", "dental", None, None, at=T0)
    # Queue many writes at once without awaiting each: they land in submission order.
    await asyncio.gather(
        *(async_store.add_turn("c1", "caller", f"turn {i}", 100, 200) for i in range(20))
    )
    call = await async_store.get_call("c1")
    assert call is not None and [t.text for t in call.turns] == [f"turn {i}" for i in range(20)]


async def test_sqlite_async_store_runs_on_its_own_thread(tmp_path: Path) -> None:
    async_store = AsyncStore(tmp_path / "r.db")
    await async_store.start_call("c1", "dental", None, None, at=T0)
    threads: list[str] = []
    store = async_store._store.result()
    original = store.add_outcome

    def spy(call_id: str, outcome: str) -> None:
        threads.append(threading.current_thread().name)
        original(call_id, outcome)

    store.add_outcome = spy  # type: ignore[method-assign]
    await async_store.add_outcome("c1", "completed")
    assert threads and threads[0].startswith("store") and threads[0] != "MainThread"
    await async_store.close()


async def test_cancelled_write_still_lands(async_store: AnyAsyncStore) -> None:
    await async_store.start_call("c1", "dental", None, None)
    task = asyncio.create_task(async_store.add_message("c1", "dental", "Ann", "+1", "keep me"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = await async_store.list_messages()  # queued after the write: sees it
    assert [m.message for m in messages] == ["keep me"]


async def test_async_open_failure_surfaces_on_first_use(tmp_path: Path) -> None:
    store = AsyncStore(tmp_path / "missing.db", create=False)
    with pytest.raises(FileNotFoundError):
        await store.list_calls()
    await store.close()


async def test_postgres_unreachable_fails_at_open_without_the_password(tmp_path: Path) -> None:
    url = PostgresUrl(f"postgresql://rec:hunter2@/calls?host={tmp_path}")  # nothing listens
    with pytest.raises(ValueError, match="cannot open the call log") as raised:
        await open_store(url)
    assert "hunter2" not in str(raised.value) and "rec:***@" in str(raised.value)


def test_outcomes_are_an_enum_in_the_database(store: AnyStore) -> None:
    """The database itself refuses a label the service does not write, on either engine
    (an enum type in PostgreSQL, a checked table of names in SQLite)."""
    _call(store)
    store.add_outcome("c1", "completed")
    store.add_outcome("c1", "operator_answered")
    with pytest.raises(StoreError):
        store.sql.execute(
            "INSERT INTO outcomes (call_id, outcome, created_at) VALUES (?, ?, ?)",
            ["c1", "made_up", store.sql.dialect.now()],
        )
    call = store.get_call("c1")
    assert call is not None and call.outcomes == ("completed", "operator_answered")
    if store.dialect_name == "postgresql":
        [row] = store.sql.query(
            "SELECT data_type, udt_name FROM information_schema.columns"
            " WHERE table_name = 'outcomes' AND column_name = 'outcome'"
        )
        assert row == {"data_type": "USER-DEFINED", "udt_name": "call_outcome"}
