"""Retention: delete call data older than its business keeps it, for good.

Each kind of data (recordings, transcripts, messages, calls; other modules register
theirs with `register_kind`, e.g. delivery records) has its days in the business's
`retention:` section. A sweep first plans (which rows and files, counted and sized),
then carries the plan out: a dry run is the plan alone, so its counts are the real
run's. Deleted text leaves the full-text indexes (their delete triggers, then an FTS5
'optimize' merge that rewrites the index without it), freed pages are zeroed
(secure_delete) and handed back to the filesystem (incremental vacuum, then a WAL
checkpoint), and every sweep leaves a row in `retention_sweeps` and a log line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from receptionist.business import Business, Recording
from receptionist.business.retention_config import Retention
from receptionist.core.logs import log
from receptionist.store.sqlite import Store, _iso

logger = logging.getLogger(__name__)

CHUNK = 500  # rows per statement and per commit: the service's writes never wait long
_FTS_TABLES = ("turns_fts", "messages_fts")


@dataclass(frozen=True)
class Part:
    """Rows of one table that a kind removes: `where` may use :business, :cutoff, :now
    and :handled_only. Files named in `file_column` go with them; `set_sql` updates the
    rows instead of deleting them (a recording's row stays, marked purged)."""

    table: str
    where: str
    file_column: str | None = None
    set_sql: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    parts: tuple[Part, ...]
    days: Callable[[Business | None], int]


KINDS: list[Kind] = []


def register_kind(kind: Kind) -> None:
    """Add a kind of data to every sweep (parts whose table does not exist are skipped)."""
    if any(known.name == kind.name for known in KINDS):
        raise ValueError(f"retention kind {kind.name!r} is already registered")
    KINDS.append(kind)


def _retention(business: Business | None) -> Retention:
    return business.retention if business else Retention()


def _recording_days(business: Business | None) -> int:
    if business is None:
        return Recording().retention_days
    return business.retention.recordings or business.recording.retention_days


_OF_OLD_CALLS = (
    "call_id IN (SELECT id FROM calls WHERE business = :business AND started_at < :cutoff)"
)
# The outbox keeps each event's document (events.payload: the caller's name, message and
# last turns) until the delivery limit. Policy: when a sweep deletes a call's transcript,
# a message or a call, it also clears the documents that carry that text, as soon as no
# delivery of theirs is still pending (a pending one is sent first, then cleared by the
# next sweep); delivery rows keep their status, attempts and errors.
_SETTLED = (
    "payload IS NOT NULL AND business = :business AND NOT EXISTS (SELECT 1 FROM deliveries d "
    "WHERE d.event_id = events.id AND d.status = 'pending') AND "
)
_SCRUB = "payload = NULL"
_OLD_MESSAGES = (
    "SELECT {column} FROM messages WHERE business = :business AND created_at < :cutoff "
    "AND (:handled_only = 0 OR status = 'handled')"
)
_DOCUMENTS_OF_OLD_CALLS = Part("events", _SETTLED + _OF_OLD_CALLS, set_sql=_SCRUB)
_DOCUMENTS_OF_OLD_MESSAGES = Part("events", _SETTLED + (
    f"(call_id IN ({_OLD_MESSAGES.format(column='call_id')}) OR (type = 'message.taken' "
    f"AND ref_id IN ({_OLD_MESSAGES.format(column='id')})))"), set_sql=_SCRUB)  # fmt: skip

register_kind(Kind("recordings", (
    Part("recordings", "purged_at IS NULL AND created_at < :cutoff AND call_id IN "
         "(SELECT id FROM calls WHERE business = :business)", "path", "purged_at = :now"),
), _recording_days))  # fmt: skip
register_kind(Kind("transcripts", (
    Part("turns", _OF_OLD_CALLS), Part("tool_calls", _OF_OLD_CALLS), _DOCUMENTS_OF_OLD_CALLS,
), lambda b: _retention(b).transcripts))  # fmt: skip
register_kind(Kind("messages", (
    _DOCUMENTS_OF_OLD_MESSAGES,  # planned while the messages are still there to match
    Part("messages", "business = :business AND created_at < :cutoff "
         "AND (:handled_only = 0 OR status = 'handled')"),
), lambda b: _retention(b).messages))  # fmt: skip
register_kind(Kind("calls", (
    Part("outcomes", _OF_OLD_CALLS), Part("bookings", _OF_OLD_CALLS),
    Part("recordings", _OF_OLD_CALLS, "path"), Part("turns", _OF_OLD_CALLS),
    Part("tool_calls", _OF_OLD_CALLS), Part("handoffs", _OF_OLD_CALLS),
    _DOCUMENTS_OF_OLD_CALLS,
    Part("calls", "business = :business AND started_at < :cutoff"),
), lambda b: _retention(b).calls))  # fmt: skip
# The notification outbox: only deliveries that ended (sent, or failed for good), then
# events none of whose deliveries is still pending.
_DONE = "business = :business AND created_at < :cutoff AND status IN ('sent', 'failed')"
register_kind(Kind("delivery", (
    Part("delivery_attempts", f"delivery_id IN (SELECT id FROM deliveries WHERE {_DONE})"),
    Part("deliveries", _DONE),
    # Planned before anything is deleted: an event goes when no delivery of it stays.
    Part("events", "business = :business AND created_at < :cutoff AND prepared_at IS NOT NULL "
         f"AND id NOT IN (SELECT event_id FROM deliveries WHERE NOT ({_DONE}))"),
), lambda b: _retention(b).delivery))  # fmt: skip


@dataclass
class Planned:
    business: str
    kind: str
    part: Part
    rowids: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    paths: dict[int, str] = field(default_factory=dict)  # rowid -> the file it names


@dataclass(frozen=True)
class KindTotal:
    business: str
    kind: str
    days: int
    rows: int
    files: int
    bytes: int


@dataclass(frozen=True)
class SweepReport:
    dry_run: bool
    business: str | None
    totals: tuple[KindTotal, ...]
    db_bytes_before: int
    db_bytes_after: int
    failed_files: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.totals)

    @property
    def files(self) -> int:
        return sum(t.files for t in self.totals)

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.totals)


def sweep(
    store: Store,
    businesses: Mapping[str, Business],
    now: datetime,
    *,
    dry_run: bool = False,
    business: str | None = None,
    kinds: Collection[str] | None = None,
) -> SweepReport:
    """Delete (or with `dry_run` only count) what is past each business's limits."""
    unknown = set(kinds or ()) - {kind.name for kind in KINDS}
    if unknown:
        raise ValueError(f"no retention kind {', '.join(sorted(unknown))}")
    before = _db_bytes(store)
    plans, days = _plan(store, businesses, now, business, kinds)
    failed: list[str] = []
    if not dry_run:
        failed = _carry_out(store, plans, now)
    totals = _totals(plans, days)
    report = SweepReport(dry_run, business, totals, before, _db_bytes(store), tuple(failed))
    _audit(store, report, now)
    return report


def _plan(
    store: Store,
    businesses: Mapping[str, Business],
    now: datetime,
    only: str | None,
    kinds: Collection[str] | None,
) -> tuple[list[Planned], dict[tuple[str, str], int]]:
    db = store.db
    tables = set(db.table_names())
    seen: dict[tuple[str, str], set[int]] = {}  # (table, action) -> rows already planned
    files_seen: set[str] = set()
    plans: list[Planned] = []
    days_of: dict[tuple[str, str], int] = {}
    for slug in _slugs(store, businesses, only):
        config = businesses.get(slug)
        for kind in KINDS:
            if kinds is not None and kind.name not in kinds:
                continue
            days = kind.days(config)
            days_of[slug, kind.name] = days
            handled_only = int(not _retention(config).unhandled_messages)
            params = {"business": slug, "cutoff": _iso(now - timedelta(days=days)),
                      "now": _iso(now), "handled_only": handled_only}  # fmt: skip
            for part in kind.parts:
                if part.table not in tables:
                    continue
                planned = Planned(slug, kind.name, part)
                taken = seen.setdefault((part.table, part.set_sql or "delete"), set())
                size = "0" if part.set_sql else _row_size_sql(store, part.table)
                column = part.file_column or "NULL"
                sql = f"SELECT rowid, {column}, {size} FROM [{part.table}] WHERE {part.where}"
                for rowid, path, row_bytes in db.execute(sql, params).fetchall():
                    if rowid in taken:
                        continue
                    taken.add(rowid)
                    planned.rowids.append(rowid)
                    planned.bytes += int(row_bytes or 0)
                    if path:
                        planned.paths[rowid] = path
                    if path and path not in files_seen and os.path.isfile(path):
                        files_seen.add(path)
                        planned.files.append(path)
                        planned.bytes += os.path.getsize(path)
                plans.append(planned)
    return plans, days_of


def _slugs(store: Store, businesses: Mapping[str, Business], only: str | None) -> list[str]:
    """Every business with data, configured or not (a removed one gets the defaults)."""
    found = set(businesses)
    for table in ("calls", "messages"):
        found |= {row[0] for row in store.db.execute(f"SELECT DISTINCT business FROM {table}")}
    return sorted(slug for slug in found if only is None or slug == only)


def _row_size_sql(store: Store, table: str) -> str:
    """Bytes a row's values take: what deleting it frees, near enough."""
    columns = [column.name for column in store.db.table(table).columns]
    return " + ".join(f"coalesce(length(CAST([{name}] AS BLOB)), 0)" for name in columns)


def _carry_out(store: Store, plans: list[Planned], now: datetime) -> list[str]:
    db = store.db
    # Files first: a file that cannot be deleted (owned by another user, a read-only
    # mount) keeps its row and its call's row, so the next sweep tries it again and
    # nothing on disk is left without a row that names it.
    failed = _delete_files(plans)
    if failed:
        _keep_rows_of(store, plans, set(failed))
    db.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed, not left readable
    for planned in plans:
        part = planned.part
        action = f"UPDATE [{part.table}] SET {part.set_sql}" if part.set_sql else (
            f"DELETE FROM [{part.table}]")  # fmt: skip
        for start in range(0, len(planned.rowids), CHUNK):
            chunk = planned.rowids[start : start + CHUNK]
            params: dict[str, Any] = {f"r{i}": rowid for i, rowid in enumerate(chunk)}
            marks = ",".join(f":{name}" for name in params)
            with db.conn:
                db.execute(f"{action} WHERE rowid IN ({marks})", {**params, "now": _iso(now)})
    if any(planned.rowids for planned in plans):
        _reclaim(store)
    return failed


def _delete_files(plans: list[Planned]) -> list[str]:
    failed = []
    for planned in plans:
        for path in planned.files:
            try:
                Path(path).unlink(missing_ok=True)
            except OSError as error:  # a file we may not delete must not stop the sweep
                log(logger, logging.ERROR, "retention could not delete a file; its rows are "
                    "kept", path=path, error=str(error))  # fmt: skip
                failed.append(path)
    return failed


def _keep_rows_of(store: Store, plans: list[Planned], failed: set[str]) -> None:
    """Take out of the plan the rows naming a file still on disk, and their calls."""
    marks = ",".join("?" * len(failed))
    calls = {row[0] for row in store.db.execute(
        f"SELECT c.rowid FROM calls c JOIN recordings r ON r.call_id = c.id "
        f"WHERE r.path IN ({marks})", list(failed))}  # fmt: skip
    for planned in plans:
        planned.files = [path for path in planned.files if path not in failed]
        planned.rowids = [
            rowid for rowid in planned.rowids
            if planned.paths.get(rowid) not in failed
            and not (planned.part.table == "calls" and rowid in calls)
        ]  # fmt: skip


def _reclaim(store: Store) -> None:
    db = store.db
    tables = set(db.table_names())
    with db.conn:
        for fts in _FTS_TABLES:
            if fts in tables:
                # Merges the index's segments, dropping the deleted rows' terms for good.
                db.execute(f"INSERT INTO [{fts}]([{fts}]) VALUES ('optimize')")
    # Python's execute() steps a statement once, which frees one page: executescript()
    # runs it to the end, freeing them all.
    db.conn.executescript("PRAGMA incremental_vacuum;")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _totals(plans: list[Planned], days: dict[tuple[str, str], int]) -> tuple[KindTotal, ...]:
    sums: dict[tuple[str, str], list[int]] = {}
    for planned in plans:
        entry = sums.setdefault((planned.business, planned.kind), [0, 0, 0])
        entry[0] += len(planned.rowids)
        entry[1] += len(planned.files)
        entry[2] += planned.bytes
    return tuple(
        KindTotal(slug, kind, days[slug, kind], rows, files, size)
        for (slug, kind), (rows, files, size) in sums.items()
    )


def _audit(store: Store, report: SweepReport, now: datetime) -> None:
    row = {
        "at": _iso(now), "dry_run": int(report.dry_run), "business": report.business,
        "rows": report.rows, "files": report.files, "bytes": report.bytes,
        "db_bytes_before": report.db_bytes_before, "db_bytes_after": report.db_bytes_after,
        "detail": json.dumps([asdict(t) for t in report.totals if t.rows or t.files]),
    }  # fmt: skip
    with store.db.conn:
        store.db.table("retention_sweeps").insert(row)
    log(logger, logging.INFO, "retention sweep", dry_run=report.dry_run,
        business=report.business or "all", rows=report.rows, files=report.files,
        bytes=report.bytes, db_bytes_before=report.db_bytes_before,
        db_bytes_after=report.db_bytes_after)  # fmt: skip


def _db_bytes(store: Store) -> int:
    """The database's size on disk, its WAL included (0 in memory)."""
    if str(store.path) == ":memory:":
        return 0
    wal = store.path.with_name(store.path.name + "-wal")
    return sum(path.stat().st_size for path in (store.path, wal) if path.exists())
