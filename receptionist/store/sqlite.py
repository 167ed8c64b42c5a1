"""The call log in SQLite: calls, transcript turns, tool calls, messages, recordings, outcomes.

Everything is written as it happens, not at call end, so a crash loses nothing
already said. WAL with synchronous=FULL: each commit is fsync'd before the
write returns, so a message the model has confirmed survives a SIGKILL or a
power cut. `AsyncStore` runs every operation on one dedicated thread, so the
event loop never waits on disk and writes land in the order they were made.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import re
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from sqlite_utils import Database

from receptionist.store.records import (
    CallRecord,
    MessageRecord,
    RecordingRecord,
    ToolCallRecord,
    Turn,
    from_row,
)
from receptionist.store.schema import migrations

R = TypeVar("R")
Speaker = Literal["caller", "assistant"]
MessageStatus = Literal["new", "handled"]


class StoreError(sqlite3.Error):
    """The call log could not be read or written (disk full, locked, corrupt...).

    An sqlite3.Error, so older callers that catch that still do; new code catches this.
    """


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _iso(moment: datetime | None) -> str | None:
    """Stored times are UTC ISO 8601 strings, so text order is time order."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time means this machine's local time
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


_CALL_SQL = (
    "SELECT c.*, (SELECT group_concat(outcome) FROM outcomes o WHERE o.call_id = c.id)"
    " AS outcome_list, (SELECT count(*) FROM turns t WHERE t.call_id = c.id) AS turn_count,"
    " (SELECT count(*) FROM messages m WHERE m.call_id = c.id) AS message_count FROM calls c "
)


@contextlib.contextmanager
def _schema_lock(path: Path | None) -> Iterator[None]:
    """An exclusive lock beside the database file while its schema is brought up: two
    processes opening a new database at once would race on the journal mode and the
    schema, and SQLite refuses those upgrades without waiting."""
    if path is None:
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class Store:
    """Synchronous store: one connection, used from one thread (AsyncStore's, or the CLI's)."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no database at {self.path}")
        in_memory = str(path) == ":memory:"  # tests and one-off tools: no file, no lock
        if not in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(memory=True) if in_memory else Database(self.path)
        # Generous: writes run on their own thread, and a call's rows must not be lost
        # because another process (retention, deliveries, the CLI) held the lock on a
        # busy disk.
        self.db.execute("PRAGMA busy_timeout = 15000")
        with _schema_lock(None if in_memory else self.path):
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = FULL")
            migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    # --- writes: each is committed (and fsync'd) when it returns ---------------

    def start_call(
        self,
        call_id: str,
        business: str,
        caller_number: str | None,
        channel_id: str | None,
        *,
        at: datetime | None = None,
    ) -> None:
        # ignore=True: a caller back from a failed transfer re-enters with the same id.
        row = {"id": call_id, "business": business, "caller_number": caller_number}
        row |= {"channel_id": channel_id, "started_at": _iso(at) or _now(), "ended_at": None}
        self.db.table("calls").insert(row, ignore=True)

    def add_turn(
        self, call_id: str, speaker: Speaker, text: str, start_ms: int, end_ms: int
    ) -> int:
        if speaker not in ("caller", "assistant"):
            raise ValueError(f"speaker must be 'caller' or 'assistant', not {speaker!r}")
        return self._insert(
            "turns", call_id=call_id, speaker=speaker, text=text, start_ms=start_ms, end_ms=end_ms
        )

    def add_tool_call(
        self, call_id: str, name: str, arguments: str, result: str, duration_ms: float
    ) -> int:
        duration = round(float(duration_ms), 3)
        return self._insert(
            "tool_calls", call_id=call_id, name=name, arguments=arguments, result=result,
            duration_ms=duration,
        )  # fmt: skip

    def finish_tool_call(self, tool_call_id: int, result: str, duration_ms: float) -> None:
        """A tool's row is written as it starts; this fills in how it ended."""
        with self.db.conn:
            self.db.execute(
                "UPDATE tool_calls SET result = ?, duration_ms = ? WHERE id = ?",
                [result, round(float(duration_ms), 3), tool_call_id],
            )

    def add_message(
        self,
        call_id: str | None,
        business: str,
        caller_name: str,
        callback_number: str,
        message: str,
        *,
        at: datetime | None = None,
    ) -> int:
        """Save a message; it is durable (committed, fsync'd) when this returns its id."""
        return self._insert(
            "messages", call_id=call_id, business=business, caller_name=caller_name,
            callback_number=callback_number, message=message, status="new", handled_at=None,
            created_at=_iso(at) or _now(),
        )  # fmt: skip

    def add_booking(
        self,
        call_id: str | None,
        business: str,
        caller_name: str,
        callback_number: str,
        start: datetime,
        end: datetime,
        event_id: str,
    ) -> int:
        """Record an appointment already made in the calendar (which stays the source of truth)."""
        return self._insert(
            "bookings", call_id=call_id, business=business, caller_name=caller_name,
            callback_number=callback_number, start=_iso(start), end=_iso(end), event_id=event_id,
        )  # fmt: skip

    def add_recording(self, call_id: str, path: str, duration_s: float | None) -> int:
        return self._insert("recordings", call_id=call_id, path=str(path), duration_s=duration_s)

    def add_outcome(self, call_id: str, outcome: str) -> None:
        """Outcomes are a set: adding one twice keeps the first. Stored as lower_snake_case."""
        # Normalised, not rejected: this runs in call teardown, which must not fail on a label.
        label = re.sub(r"[^a-z0-9]+", "_", outcome.casefold()).strip("_") or "unknown"
        row = {"call_id": call_id, "outcome": label, "created_at": _now()}
        self.db.table("outcomes").insert(row, ignore=True)

    def mark_answered(self, call_id: str, *, at: datetime | None = None) -> None:
        """When the receptionist answered: the origin of the call's turn times."""
        self.db.execute(
            "UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
            [_iso(at) or _now(), call_id],
        )

    def end_call(self, call_id: str, *, at: datetime | None = None) -> None:
        self.db.execute(
            "UPDATE calls SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            [_iso(at) or _now(), call_id],
        )

    def close_open_calls(self, owned: frozenset[str], outcome: str) -> int:
        """End every call row still open except `owned`, adding `outcome`; how many."""
        open_ids = [r[0] for r in self.db.execute("SELECT id FROM calls WHERE ended_at IS NULL")]
        left = [call_id for call_id in open_ids if call_id not in owned]
        for call_id in left:  # outcome first: a row cut between the two stays open
            self.add_outcome(call_id, outcome)
            self.end_call(call_id)
        return len(left)

    def mark_handled(self, message_id: int) -> bool:
        """Mark a message handled (keeping the first handled time); False if there is none."""
        cursor = self.db.execute(
            "UPDATE messages SET status = 'handled', handled_at = coalesce(handled_at, ?) "
            "WHERE id = ?",
            [_now(), message_id],
        )
        return cursor.rowcount > 0

    def _insert(self, table: str, **values: Any) -> int:
        values.setdefault("created_at", _now())
        pk = self.db.table(table).insert(values).last_pk
        if not isinstance(pk, int):  # every table written here has an integer rowid key
            raise sqlite3.DatabaseError(f"insert into {table} returned no row id")
        return pk

    # --- reads -----------------------------------------------------------------

    def list_calls(
        self,
        *,
        business: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        search: str | None = None,
        limit: int = 50,
    ) -> list[CallRecord]:
        """Newest first; `search` is full-text over both sides of the transcript."""
        where, params = _where(
            {
                "c.business = ?": business,
                "c.started_at >= ?": _iso(since),
                "c.started_at < ?": _iso(until),
                "c.id IN (SELECT call_id FROM turns WHERE id IN "
                "(SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?))": fts_query(search),
            }
        )
        if search and fts_query(search) is None:
            return []  # nothing searchable in it (only punctuation): nothing matches
        sql = f"{_CALL_SQL}{where} ORDER BY c.started_at DESC LIMIT ?"
        return [_call(row) for row in self.db.query(sql, [*params, limit])]

    def resolve_call_id(self, prefix: str) -> str | None:
        """The id of the call whose id is or starts with `prefix`; ValueError if ambiguous."""
        sql = "SELECT id FROM calls WHERE id = ? OR substr(id, 1, length(?)) = ? LIMIT 3"
        ids = [row["id"] for row in self.db.query(sql, [prefix, prefix, prefix])]
        if prefix in ids:
            return prefix
        if len(ids) > 1:
            raise ValueError(f"'{prefix}' matches several calls; give more of the id")
        return ids[0] if ids else None

    def get_call(self, call_id: str) -> CallRecord | None:
        """One call with its conversation, tool calls, messages and recordings."""
        rows = list(self.db.query(_CALL_SQL + "WHERE c.id = ?", [call_id]))
        if not rows:
            return None

        def rows_of(table: str, order: str = "id") -> list[dict[str, Any]]:
            found = self.db.table(table).rows_where("call_id = ?", [call_id], order_by=order)
            return list(found)

        return dataclasses.replace(
            _call(rows[0]),
            turns=tuple(from_row(Turn, r) for r in rows_of("turns", "start_ms, id")),
            tool_calls=tuple(from_row(ToolCallRecord, r) for r in rows_of("tool_calls")),
            messages=tuple(from_row(MessageRecord, r) for r in rows_of("messages")),
            recordings=tuple(from_row(RecordingRecord, r) for r in rows_of("recordings")),
        )

    def list_messages(
        self,
        *,
        business: str | None = None,
        status: MessageStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        search: str | None = None,
        limit: int = 50,
    ) -> list[MessageRecord]:
        """Newest first; `search` is full-text over caller names and message text."""
        where, params = _where(
            {
                "business = ?": business,
                "status = ?": status,
                "created_at >= ?": _iso(since),
                "created_at < ?": _iso(until),
                "id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)": fts_query(
                    search
                ),
            }
        )
        if search and fts_query(search) is None:
            return []
        sql = f"SELECT * FROM messages {where} ORDER BY created_at DESC, id DESC LIMIT ?"
        return [from_row(MessageRecord, row) for row in self.db.query(sql, [*params, limit])]

    def list_bookings(self, *, business: str | None = None) -> list[dict[str, Any]]:
        """Bookings by appointment start, earliest first."""
        where, params = _where({"business = ?": business})
        return list(self.db.query(f"SELECT * FROM bookings {where} ORDER BY start, id", params))

    def get_message(self, message_id: int) -> MessageRecord | None:
        rows = list(self.db.query("SELECT * FROM messages WHERE id = ?", [message_id]))
        return from_row(MessageRecord, rows[0]) if rows else None


def fts_query(text: str | None) -> str | None:
    """A full-text query matching every word of `text` as typed, never FTS5 syntax.

    Each word becomes a quoted phrase (quotes inside doubled), so `"`, `AND`, `NEAR(` or
    `-x` are searched for, not parsed. Words with no letter or digit are dropped: the
    tokenizer would drop them too. None when nothing searchable is left.
    """
    words = [w for w in (text or "").split() if any(c.isalnum() for c in w)]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words) or None


def _where(conditions: dict[str, Any]) -> tuple[str, list[Any]]:
    """`WHERE a AND b` from {sql: parameter}, leaving out conditions whose parameter is None."""
    kept = {sql: value for sql, value in conditions.items() if value is not None}
    return ("WHERE " + " AND ".join(kept) if kept else ""), list(kept.values())


def _call(row: dict[str, Any]) -> CallRecord:
    outcomes = sorted(set(filter(None, (row.pop("outcome_list") or "").split(","))))
    return dataclasses.replace(from_row(CallRecord, row), outcomes=tuple(outcomes))


P = ParamSpec("P")


def _on_writer(
    method: Callable[Concatenate[Store, P], R],
) -> Callable[Concatenate[AsyncStore, P], Coroutine[Any, Any, R]]:
    """The awaitable twin of a Store method, run on the AsyncStore's thread."""

    async def run(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        def call() -> R:
            # Looked up by name on the instance, so a subclass or a test double can override.
            bound: Callable[P, R] = getattr(self._store.result(), method.__name__)
            return bound(*args, **kwargs)

        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        # Shielded: a write whose awaiting task is cancelled (teardown often is)
        # still happens; it is already queued behind the writes before it.
        try:
            return await asyncio.shield(future)
        except StoreError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"{method.__name__}: {exc}") from exc

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run


class AsyncStore:
    """The Store for asyncio code: every operation runs, in order, on one dedicated thread."""

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        # Opened on that thread: sqlite3 connections belong to the thread that made them.
        self._store = self._executor.submit(Store, path, create=create)

    start_call = _on_writer(Store.start_call)
    add_turn = _on_writer(Store.add_turn)
    add_tool_call = _on_writer(Store.add_tool_call)
    finish_tool_call = _on_writer(Store.finish_tool_call)
    add_message = _on_writer(Store.add_message)
    add_recording = _on_writer(Store.add_recording)
    add_booking = _on_writer(Store.add_booking)
    add_outcome = _on_writer(Store.add_outcome)
    mark_answered = _on_writer(Store.mark_answered)
    end_call = _on_writer(Store.end_call)
    close_open_calls = _on_writer(Store.close_open_calls)
    mark_handled = _on_writer(Store.mark_handled)
    list_calls = _on_writer(Store.list_calls)
    resolve_call_id = _on_writer(Store.resolve_call_id)
    get_call = _on_writer(Store.get_call)
    list_messages = _on_writer(Store.list_messages)
    get_message = _on_writer(Store.get_message)
    list_bookings = _on_writer(Store.list_bookings)

    async def run(
        self, func: Callable[Concatenate[Store, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """`func(store, ...)` on the store's thread: for table modules kept outside this one."""

        def call() -> R:
            return func(self._store.result(), *args, **kwargs)

        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        try:
            return await asyncio.shield(future)  # like every write: done even if cancelled
        except sqlite3.Error as exc:
            raise StoreError(f"{getattr(func, '__name__', 'operation')}: {exc}") from exc

    async def close(self) -> None:
        """Finish queued writes, close the connection and stop the thread."""

        def close() -> None:
            if self._store.exception() is None:  # nothing to close if opening failed
                self._store.result().close()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, close)
        finally:
            self._executor.shutdown(wait=False)
