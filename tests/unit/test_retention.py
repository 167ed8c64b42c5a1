"""Retention over 400 days of synthetic calls, on SQLite and on PostgreSQL: exactly what
is past each business's limit per kind goes, for good (full-text search included, and on
SQLite the file's bytes), and a dry run counts what the real run then deletes."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receptionist.business import Business, load_businesses
from receptionist.cli import main
from receptionist.service.wiring import _retention
from receptionist.settings import Settings
from receptionist.store import retention
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.retention import sweep
from receptionist.store.sql import insert
from tests.unit.store_backends import database_fixture  # noqa: F401 (fixture: both engines)
from tests.waiting import eventually

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAYS = 400
BASE = "hours: {monday: {open: '08:00', close: '17:00'}}\n"
# alpha: short limits, handled messages only; bravo: the defaults but for a few.
ALPHA = (
    "business: {name: Alpha, timezone: America/New_York}\n"
    + BASE
    + (
        "recording: {enabled: true, retention_days: 90}\n"
        "retention: {recordings: 20, transcripts: 30, messages: 60, calls: 180}\n"
    )
)
BRAVO = (
    "business: {name: Bravo, timezone: Europe/Madrid}\n"
    + BASE
    + ("retention: {transcripts: 90, messages: 100, unhandled_messages: true, calls: 365}\n")
)
FILLER = "and then they explained at some length what they needed from the office " * 3


def token(slug: str, day: int) -> str:
    """A word only that day's transcript holds."""
    return f"zq{slug[0]}{day:04d}x"


def note(slug: str, day: int) -> str:
    """A word only that day's message holds."""
    return f"msg{slug[0]}{day:04d}y"


def populate(store: Store, directory: Path, now: datetime = NOW) -> None:
    """Two calls a day per business for 400 days, each with a transcript, a tool call and
    an outcome; a message a day (handled on even days); a recording every fifth day."""
    calls, turns, tools, outcomes, messages, recordings = [], [], [], [], [], []
    for slug in ("alpha", "bravo"):
        for day in range(DAYS):
            at = store.sql.dialect.time(now - timedelta(days=day, hours=1))
            for n in range(2):
                cid = f"{slug}-{day}-{n}"
                calls.append({"id": cid, "business": slug, "caller_number": "+15550001111",
                              "channel_id": cid, "started_at": at, "ended_at": at})  # fmt: skip
                for i in range(3):
                    text = f"caller {token(slug, day)} {FILLER}"
                    turns.append({"call_id": cid, "speaker": "caller", "text": text,
                                  "start_ms": i, "end_ms": i + 1, "created_at": at})  # fmt: skip
                tools.append({"call_id": cid, "name": "lookup_faq", "arguments": "{}",
                              "result": "ok", "duration_ms": 1.0, "created_at": at})  # fmt: skip
                outcomes.append({"call_id": cid, "outcome": "completed", "created_at": at})
            messages.append({"call_id": f"{slug}-{day}-0", "business": slug,
                             "caller_name": "Ann", "callback_number": "+15550001111",
                             "message": f"please call {note(slug, day)} back",
                             "status": "handled" if day % 2 == 0 else "new", "created_at": at,
                             "handled_at": at if day % 2 == 0 else None})  # fmt: skip
            if day % 5 == 0:
                wav = directory / f"{slug}-{day}.wav"
                wav.write_bytes(b"RIFF" + bytes(2044))
                recordings.append({"call_id": f"{slug}-{day}-0", "path": str(wav),
                                   "duration_s": 1.0, "created_at": at})  # fmt: skip
    with store.sql.transaction():
        for table, rows in (("calls", calls), ("turns", turns), ("tool_calls", tools),
                            ("outcomes", outcomes), ("messages", messages),
                            ("recordings", recordings)):  # fmt: skip
            for row in rows:
                insert(store.sql, table, row)


def count(store: Store, sql: str, *params: object) -> int:
    return int(next(iter(store.sql.query(sql, list(params))[0].values())))


def per_business(store: Store, table: str, slug: str, extra: str = "") -> int:
    return count(store, f"SELECT count(*) FROM {table} WHERE call_id LIKE ? {extra}", f"{slug}-%")


@pytest.fixture
def businesses(tmp_path: Path) -> dict[str, Business]:
    directory = tmp_path / "businesses"
    directory.mkdir()
    (directory / "alpha.yaml").write_text(ALPHA, encoding="utf-8")
    (directory / "bravo.yaml").write_text(BRAVO, encoding="utf-8")
    return load_businesses(directory)


def test_sweep_deletes_exactly_what_is_past_each_limit_and_for_good(
    tmp_path: Path,
    businesses: dict[str, Business],
    caplog: pytest.LogCaptureFixture,
    database: Path | PostgresUrl,
) -> None:
    store = Store(database)
    wavs = tmp_path / "recordings"
    wavs.mkdir()
    populate(store, wavs)

    preview = sweep(store, businesses, NOW, dry_run=True)
    assert count(store, "SELECT count(*) FROM turns") == 2 * DAYS * 6, "a dry run deletes nothing"
    assert len(list(wavs.iterdir())) == 2 * DAYS // 5
    with caplog.at_level(logging.INFO, logger="receptionist.store.retention"):
        done = sweep(store, businesses, NOW)
    assert done.totals == preview.totals and (done.rows, done.files, done.bytes) == (
        preview.rows, preview.files, preview.bytes,
    )  # fmt: skip
    assert preview.rows > 7000 and preview.bytes > 1_000_000

    # alpha: calls 180 days, transcripts 30, handled messages 60, recording files 20.
    assert per_business(store, "turns", "alpha") == 30 * 2 * 3
    assert per_business(store, "tool_calls", "alpha") == 30 * 2
    assert count(store, "SELECT count(*) FROM calls WHERE business = 'alpha'") == 180 * 2
    assert per_business(store, "outcomes", "alpha") == 180 * 2
    kept = count(store, "SELECT count(*) FROM messages WHERE business = 'alpha'")
    assert kept == 60 + (DAYS - 60) // 2  # the unhandled ones stay whatever their age
    assert per_business(store, "recordings", "alpha") == 180 // 5  # rows live with the call
    assert per_business(store, "recordings", "alpha", "AND purged_at IS NULL") == 20 // 5
    # bravo: calls 365, transcripts 90, every message 100, recording files 90 (the default).
    assert per_business(store, "turns", "bravo") == 90 * 2 * 3
    assert count(store, "SELECT count(*) FROM calls WHERE business = 'bravo'") == 365 * 2
    assert count(store, "SELECT count(*) FROM messages WHERE business = 'bravo'") == 100
    assert per_business(store, "recordings", "bravo", "AND purged_at IS NULL") == 90 // 5
    files = {path.name for path in wavs.iterdir()}
    assert files == {f"{s}-{d}.wav" for s, limit in (("alpha", 20), ("bravo", 90))
                     for d in range(0, limit, 5)}  # fmt: skip

    # Gone from full-text search, and from the file's bytes.
    assert store.list_calls(search=token("alpha", 29)) != []
    assert store.list_calls(search=token("alpha", 30)) == []
    assert store.list_messages(search=note("alpha", 62)) == []
    assert store.list_messages(search=note("alpha", 63)) != []  # unhandled: kept

    # The audit: a row per sweep, and a log line.
    audit = store.sql.query("SELECT * FROM retention_sweeps ORDER BY id")
    assert [(a["dry_run"], a["rows"]) for a in audit] == [(1, done.rows), (0, done.rows)]
    assert {d["kind"] for d in json.loads(audit[1]["detail"])} == {
        "recordings", "transcripts", "messages", "calls",
    }  # fmt: skip
    assert "retention sweep" in caplog.text and f"rows={done.rows}" in caplog.text
    again = sweep(store, businesses, NOW)
    assert again.rows == 0 and again.files == 0, "a second sweep finds nothing"
    store.close()


def test_sqlite_sweep_leaves_no_deleted_text_in_the_file_and_shrinks_it(
    tmp_path: Path, businesses: dict[str, Business]
) -> None:
    db_path = tmp_path / "calls.db"
    store = Store(db_path)
    wavs = tmp_path / "recordings"
    wavs.mkdir()
    populate(store, wavs)
    assert count(store, "PRAGMA auto_vacuum") == 2  # incremental
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all the data in the file itself
    size_before = db_path.stat().st_size
    done = sweep(store, businesses, NOW)
    store.close()
    raw = db_path.read_bytes()
    assert token("alpha", 29).encode() in raw
    assert note("alpha", 58).encode() in raw
    deleted_words = (token("alpha", 30), token("alpha", 399), token("bravo", 95), note("alpha", 62))
    for deleted in deleted_words:
        assert deleted.encode() not in raw, deleted
    size_after = db_path.stat().st_size
    assert size_after < size_before / 2, (size_before, size_after)
    print(f"database file {size_before} -> {size_after} bytes")
    assert done.db_bytes_after < done.db_bytes_before


def test_business_filter_and_a_removed_business(
    tmp_path: Path, businesses: dict[str, Business]
) -> None:
    store = Store(tmp_path / "calls.db")
    wavs = tmp_path / "recordings"
    wavs.mkdir()
    populate(store, wavs)
    only = sweep(store, businesses, NOW, business="bravo")
    assert {t.business for t in only.totals} == {"bravo"}
    assert per_business(store, "turns", "alpha") == DAYS * 6  # untouched
    # A business whose file was removed keeps the defaults (transcripts 365 days).
    sweep(store, {"bravo": businesses["bravo"]}, NOW)
    assert per_business(store, "turns", "alpha") == 365 * 2 * 3
    store.close()


def test_existing_database_gets_incremental_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(path)
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0007_incremental_vacuum'")
    store.db.conn.commit()
    store.db.execute("PRAGMA auto_vacuum = NONE")
    store.db.execute("VACUUM")
    assert count(store, "PRAGMA auto_vacuum") == 0
    store.close()
    reopened = Store(path)
    assert count(reopened, "PRAGMA auto_vacuum") == 2
    reopened.close()


def test_sweep_command_dry_run_then_real(
    tmp_path: Path,
    businesses: dict[str, Business],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database: Path | PostgresUrl,
) -> None:
    store = Store(database)
    wavs = tmp_path / "recordings"
    wavs.mkdir()
    populate(store, wavs, datetime.now(UTC))  # the command sweeps as of now
    store.close()
    monkeypatch.setenv("RECEPTIONIST_BUSINESSES_DIR", str(tmp_path / "businesses"))
    url = database.secret() if isinstance(database, PostgresUrl) else str(database)
    db = ["--db", url]
    assert main(["retention", "sweep", "--dry-run", "--business", "alpha", "--json", *db]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert preview["dry_run"] and {t["business"] for t in preview["totals"]} == {"alpha"}
    assert main(["retention", "sweep", "--business", "alpha", *db]) == 0
    out = capsys.readouterr().out
    assert f"deleted {preview['rows']} rows, {preview['files']} files" in out
    assert "alpha                    transcripts     30 days  deleted" in out
    # `recordings purge` is the same sweep, for recording files only.
    assert main(["recordings", "purge", "--dry-run", "--json", *db]) == 0
    files = json.loads(capsys.readouterr().out)
    assert {t["kind"] for t in files["totals"]} == {"recordings"}
    assert files["files"] == (DAYS - 90) // 5  # bravo's, past its 90 days
    store = Store(database)
    assert count(store, "SELECT count(*) FROM retention_sweeps") == 3
    store.close()


async def test_serve_sweeps_at_start(tmp_path: Path, businesses: dict[str, Business]) -> None:
    db_path = tmp_path / "calls.db"
    store = Store(db_path)
    wavs = tmp_path / "recordings"
    wavs.mkdir()
    populate(store, wavs, datetime.now(UTC))
    store.close()
    task = asyncio.create_task(_retention(Settings(database=db_path), businesses))
    try:
        await eventually(lambda: swept(db_path), timeout=30)  # the sweep's audit row
    finally:
        task.cancel()
    store = Store(db_path)
    assert per_business(store, "turns", "alpha") == 30 * 2 * 3
    store.close()


def swept(db_path: Path) -> bool:
    with closing(sqlite3.connect(db_path)) as conn:
        return bool(conn.execute("SELECT count(*) FROM retention_sweeps").fetchone()[0])


def test_every_kind_names_tables_of_the_schema_once(database: Path | PostgresUrl) -> None:
    """The kinds are declared in one place; each table they sweep exists on the engine."""
    names = [kind.name for kind in retention.KINDS]
    assert len(names) == len(set(names))
    store = Store(database)
    tables = store.sql.table_names()
    store.close()
    assert {part.table for kind in retention.KINDS for part in kind.parts} <= tables


def test_an_unknown_kind_is_refused(tmp_path: Path, businesses: dict[str, Business]) -> None:
    store = Store(tmp_path / "calls.db")
    with pytest.raises(ValueError, match="no retention kind"):
        sweep(store, businesses, NOW, kinds=["nonsense"])
    store.close()
