"""Retention: delete call data older than its business keeps it, for good.

Each kind of data (recordings, transcripts, messages, calls, delivery records), all
declared in KINDS below, has its days in the business's `retention:` section. A sweep
first plans (which rows and files, counted and sized), then carries the plan out: a
dry run is the plan alone, so its counts are the real run's. The same on both engines;
what each can do to forget for good is its Db's upkeep (store/sql.py): on SQLite,
deleted text leaves the FTS5 indexes (their delete triggers, then an 'optimize'
merge), freed pages are zeroed (secure_delete) and handed back to the filesystem
(incremental vacuum, then a WAL checkpoint); on PostgreSQL the rows' tsvectors go with
them and a VACUUM frees their space for reuse. Every sweep leaves a row in
`retention_sweeps` and a log line.
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
from receptionist.store.log import Store
from receptionist.store.sql import Db, insert

logger = logging.getLogger(__name__)

CHUNK = 500  # rows per statement and per commit: the service's writes never wait long


@dataclass(frozen=True)
class Part:
    """Rows of one table that a kind removes: `where` may use :business, :cutoff, :now
    and :handled_only. Files named in `file_column` go with them; `set_sql` updates the
    rows instead of deleting them (a recording's row stays, marked purged). `key` names
    the rows to remove (a call's outcomes go together, by their call)."""

    table: str
    where: str
    file_column: str | None = None
    set_sql: str | None = None
    key: str = "id"


@dataclass(frozen=True)
class Kind:
    name: str
    parts: tuple[Part, ...]
    days: Callable[[Business | None], int]


def _retention(business: Business | None) -> Retention:
    return business.retention if business else Retention()


def _recording_days(business: Business | None) -> int:
    if business is None:
        return Recording().retention_days
    return business.retention.recordings or business.recording.retention_days


_OF_OLD_CALLS = (
    "call_id IN (SELECT id FROM calls WHERE business = :business AND started_at < :cutoff)"
)
_DONE = "business = :business AND created_at < :cutoff AND status IN ('sent', 'failed')"
# The outbox keeps each event's document (events.payload: the caller's name, message and
# last turns) until the delivery limit. Policy: when a sweep deletes a call's transcript,
# a message or a call, it also clears the documents that carry that text, as soon as no
# delivery of theirs is still pending (a pending one is sent first, then cleared by the
# next sweep); delivery rows keep their status, attempts and errors.
_SETTLED = (
    "payload IS NOT NULL AND business = :business AND NOT EXISTS (SELECT 1 FROM deliveries d "
    "WHERE d.event_id = events.id AND d.status = 'pending') AND "
)
_OLD_MESSAGES = (
    "SELECT {column} FROM messages WHERE business = :business AND created_at < :cutoff "
    "AND (:handled_only = 0 OR status = 'handled')"
)
_DOCUMENTS_OF_OLD_CALLS = Part("events", _SETTLED + _OF_OLD_CALLS, set_sql="payload = NULL",
                               key="seq")  # fmt: skip
_DOCUMENTS_OF_OLD_MESSAGES = Part("events", _SETTLED + (
    f"(call_id IN ({_OLD_MESSAGES.format(column='call_id')}) OR (type = 'message.taken' "
    f"AND ref_id IN ({_OLD_MESSAGES.format(column='id')})))"), set_sql="payload = NULL",
    key="seq")  # fmt: skip
# fmt: off
KINDS: tuple[Kind, ...] = (
Kind("recordings", (
    Part("recordings", "purged_at IS NULL AND created_at < :cutoff AND call_id IN "
         "(SELECT id FROM calls WHERE business = :business)", "path", "purged_at = :now"),
), _recording_days),
Kind("transcripts", (
    Part("turns", _OF_OLD_CALLS), Part("tool_calls", _OF_OLD_CALLS), _DOCUMENTS_OF_OLD_CALLS,
), lambda b: _retention(b).transcripts),
Kind("messages", (
    _DOCUMENTS_OF_OLD_MESSAGES,  # planned while the messages are still there to match
    Part("messages", "business = :business AND created_at < :cutoff "
         "AND (:handled_only = 0 OR status = 'handled')"),
), lambda b: _retention(b).messages),
Kind("calls", (
    Part("outcomes", _OF_OLD_CALLS, key="call_id"), Part("bookings", _OF_OLD_CALLS),
    Part("recordings", _OF_OLD_CALLS, "path"), Part("turns", _OF_OLD_CALLS),
    Part("tool_calls", _OF_OLD_CALLS), Part("handoffs", _OF_OLD_CALLS),
    _DOCUMENTS_OF_OLD_CALLS,
    Part("calls", "business = :business AND started_at < :cutoff"),
), lambda b: _retention(b).calls),
# The notification outbox: only deliveries that ended (sent, or failed for good), then
# events none of whose deliveries is still pending.
Kind("delivery", (
    Part("delivery_attempts", f"delivery_id IN (SELECT id FROM deliveries WHERE {_DONE})"),
    Part("deliveries", _DONE),
    # Planned before anything is deleted: an event goes when no delivery of it stays.
    Part("events", "business = :business AND created_at < :cutoff AND prepared_at IS NOT NULL "
         f"AND id NOT IN (SELECT event_id FROM deliveries WHERE NOT ({_DONE}))", key="seq"),
), lambda b: _retention(b).delivery))
# fmt: on


@dataclass
class Planned:
    business: str
    kind: str
    part: Part
    keys: list[Any] = field(default_factory=list)  # distinct values of the part's key
    rows: int = 0
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    paths: dict[Any, str] = field(default_factory=dict)  # key -> the file its row names


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
    db = store.sql
    before = db.size_bytes()
    plans, days = _plan(db, businesses, now, business, kinds)
    failed: list[str] = []
    if not dry_run:
        failed = _carry_out(db, plans, now)
    totals = _totals(plans, days)
    report = SweepReport(dry_run, business, totals, before, db.size_bytes(), tuple(failed))
    _audit(db, report, now)
    return report


def _plan(
    db: Db,
    businesses: Mapping[str, Business],
    now: datetime,
    only: str | None,
    kinds: Collection[str] | None,
) -> tuple[list[Planned], dict[tuple[str, str], int]]:
    tables = db.table_names()
    time = db.dialect.time
    seen: dict[tuple[str, str], set[Any]] = {}  # (table, action) -> keys already planned
    files_seen: set[str] = set()
    plans: list[Planned] = []
    days_of: dict[tuple[str, str], int] = {}
    for slug in _slugs(db, businesses, only):
        config = businesses.get(slug)
        for kind in KINDS:
            if kinds is not None and kind.name not in kinds:
                continue
            days = kind.days(config)
            days_of[slug, kind.name] = days
            handled_only = int(not _retention(config).unhandled_messages)
            params = {"business": slug, "cutoff": time(now - timedelta(days=days)),
                      "now": time(now), "handled_only": handled_only}  # fmt: skip
            for part in kind.parts:
                if part.table not in tables:
                    continue
                planned = Planned(slug, kind.name, part)
                taken = seen.setdefault((part.table, part.set_sql or "delete"), set())
                size = "0" if part.set_sql else db.row_bytes(part.table)
                column = part.file_column or "NULL"
                sql = (f"SELECT {part.key} AS key, {column} AS path, {size} AS size"
                       f" FROM {part.table} WHERE {part.where}")  # fmt: skip
                mine: set[Any] = set()
                for row in db.query(sql, params):
                    key, path = row["key"], row["path"]
                    if key in taken and key not in mine:
                        continue  # another kind (or business) removes this row already
                    if key not in mine:
                        taken.add(key)
                        mine.add(key)
                        planned.keys.append(key)
                    planned.rows += 1
                    planned.bytes += int(row["size"] or 0)
                    if path:
                        planned.paths[key] = path
                    if path and path not in files_seen and os.path.isfile(path):
                        files_seen.add(path)
                        planned.files.append(path)
                        planned.bytes += os.path.getsize(path)
                plans.append(planned)
    return plans, days_of


def _slugs(db: Db, businesses: Mapping[str, Business], only: str | None) -> list[str]:
    """Every business with data, configured or not (a removed one gets the defaults)."""
    found = set(businesses)
    for table in ("calls", "messages"):
        found |= {row["business"] for row in db.query(f"SELECT DISTINCT business FROM {table}")}
    return sorted(slug for slug in found if only is None or slug == only)


def _carry_out(db: Db, plans: list[Planned], now: datetime) -> list[str]:
    # Files first: a file that cannot be deleted (owned by another user, a read-only
    # mount) keeps its row and its call's row, so the next sweep tries it again and
    # nothing on disk is left without a row that names it.
    failed = _delete_files(plans)
    if failed:
        _keep_rows_of(db, plans, set(failed))
    db.zero_on_delete()
    for planned in plans:
        part = planned.part
        action = f"UPDATE {part.table} SET {part.set_sql}" if part.set_sql else (
            f"DELETE FROM {part.table}")  # fmt: skip
        for start in range(0, len(planned.keys), CHUNK):
            chunk = planned.keys[start : start + CHUNK]
            params: dict[str, Any] = {f"r{i}": key for i, key in enumerate(chunk)}
            marks = ",".join(f":{name}" for name in params)
            with db.transaction():
                sql = f"{action} WHERE {part.key} IN ({marks})"
                db.execute(sql, {**params, "now": db.dialect.time(now)})
    touched = [planned.part.table for planned in plans if planned.keys]
    if touched:
        db.reclaim(touched)
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


def _keep_rows_of(db: Db, plans: list[Planned], failed: set[str]) -> None:
    """Take out of the plan the rows naming a file still on disk, and their calls."""
    marks = ",".join("?" * len(failed))
    rows = db.query(f"SELECT call_id FROM recordings WHERE path IN ({marks})", list(failed))
    calls = {row["call_id"] for row in rows}
    for planned in plans:
        planned.files = [path for path in planned.files if path not in failed]
        kept = [key for key in planned.keys if planned.paths.get(key) in failed
                or (planned.part.table == "calls" and key in calls)]  # fmt: skip
        planned.keys = [key for key in planned.keys if key not in kept]
        planned.rows -= len(kept)


def _totals(plans: list[Planned], days: dict[tuple[str, str], int]) -> tuple[KindTotal, ...]:
    sums: dict[tuple[str, str], list[int]] = {}
    for planned in plans:
        entry = sums.setdefault((planned.business, planned.kind), [0, 0, 0])
        entry[0] += planned.rows
        entry[1] += len(planned.files)
        entry[2] += planned.bytes
    return tuple(
        KindTotal(slug, kind, days[slug, kind], rows, files, size)
        for (slug, kind), (rows, files, size) in sums.items()
    )


def _audit(db: Db, report: SweepReport, now: datetime) -> None:
    row = {
        "at": db.dialect.time(now), "dry_run": report.dry_run, "business": report.business,
        "rows": report.rows, "files": report.files, "bytes": report.bytes,
        "db_bytes_before": report.db_bytes_before, "db_bytes_after": report.db_bytes_after,
        "detail": json.dumps([asdict(t) for t in report.totals if t.rows or t.files]),
    }  # fmt: skip
    insert(db, "retention_sweeps", row)
    log(logger, logging.INFO, "retention sweep", dry_run=report.dry_run,
        business=report.business or "all", rows=report.rows, files=report.files,
        bytes=report.bytes, db_bytes_before=report.db_bytes_before,
        db_bytes_after=report.db_bytes_after)  # fmt: skip
