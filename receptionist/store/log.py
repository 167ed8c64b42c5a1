"""The call log: calls, transcript turns, tool calls, messages, recordings, outcomes.

Written once for both engines over `Db` (store/sql.py): a SQLite file by default, a
PostgreSQL server when the `database` setting is a postgresql:// URL. Everything is
written as it happens, not at call end, so a crash loses nothing already said; each
write is committed before it returns. `AsyncStore` runs every operation on one
dedicated thread, so the event loop never waits on the database and writes land in
the order they were made.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from receptionist.core.outcomes import FallbackReason, Outcome, check_outcome
from receptionist.store.engine import Location, open_db
from receptionist.store.records import (
    CallOwner,
    CallRecord,
    MessageRecord,
    RecordingRecord,
    ToolCallRecord,
    Turn,
    from_row,
)
from receptionist.store.sql import Db, Row, StoreError, insert, where

if TYPE_CHECKING:
    from sqlite_utils import Database

R = TypeVar("R")
P = ParamSpec("P")
Speaker = Literal["caller", "assistant"]
MessageStatus = Literal["new", "handled"]

__all__ = ["AsyncStore", "MessageStatus", "Speaker", "Store", "StoreError"]


def call_select(db: Db, extra: str = "") -> str:
    """A call row with its outcomes, turn and message counts (`extra`: more columns)."""
    outcomes = db.dialect.concat.format("outcome")
    return (
        f"SELECT c.*, (SELECT {outcomes} FROM outcomes o WHERE o.call_id = c.id) AS outcome_list,"
        " (SELECT count(*) FROM turns t WHERE t.call_id = c.id) AS turn_count,"
        f" (SELECT count(*) FROM messages m WHERE m.call_id = c.id) AS message_count{extra}"
        " FROM calls c "
    )


def call_record(row: Row) -> CallRecord:
    outcomes = sorted(set(filter(None, (row.pop("outcome_list") or "").split(","))))
    return dataclasses.replace(from_row(CallRecord, row), outcomes=tuple(outcomes))


class Store:
    """The call log over one connection, used from one thread (AsyncStore's, or the CLI's)."""

    def __init__(
        self, location: Location | str, *, create: bool = True, durable: bool = True
    ) -> None:
        self.sql: Db = open_db(location, create=create, durable=durable)

    @property
    def dialect_name(self) -> str:
        return self.sql.dialect.name

    @property
    def db(self) -> Database:
        """The sqlite-utils handle, for looking inside a SQLite file (tests, tools); no part
        of the service needs it. StoreError on PostgreSQL."""
        handle: Database | None = getattr(self.sql, "db", None)
        if handle is None:
            raise StoreError(f"this part needs the SQLite call log, not {self.dialect_name}")
        return handle

    @property
    def path(self) -> Path:
        """The SQLite file (":memory:" for none); StoreError on PostgreSQL."""
        path: Path | None = getattr(self.sql, "path", None)
        if path is None:
            raise StoreError(f"the call log is not a file on {self.dialect_name}")
        return path

    def close(self) -> None:
        self.sql.close()

    def _time(self, moment: datetime | None) -> Any:
        return self.sql.dialect.time(moment)

    # --- writes: each is committed when it returns -------------------------------

    def start_call(
        self,
        call_id: str,
        business: str,
        caller_number: str | None,
        channel_id: str | None,
        *,
        at: datetime | None = None,
        owner: CallOwner | None = None,
    ) -> None:
        # ignore: a caller back from a failed transfer re-enters with the same id.
        started = self._time(at) or self.sql.dialect.now()
        row = {"id": call_id, "business": business, "caller_number": caller_number,
               "channel_id": channel_id, "started_at": started}  # fmt: skip
        if owner is not None:
            row |= {"instance": owner.instance, "asterisk": owner.asterisk}
        insert(self.sql, "calls", row, ignore=True)

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
        self.sql.execute(
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
        """Save a message; it is durable (committed) when this returns its id."""
        return self._insert(
            "messages", call_id=call_id, business=business, caller_name=caller_name,
            callback_number=callback_number, message=message, status="new", handled_at=None,
            created_at=self._time(at),
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
            callback_number=callback_number, start=self._time(start), end=self._time(end),
            event_id=event_id,
        )  # fmt: skip

    def add_recording(self, call_id: str, path: str, duration_s: float | None) -> int:
        return self._insert("recordings", call_id=call_id, path=str(path), duration_s=duration_s)

    def add_outcome(self, call_id: str, outcome: Outcome | FallbackReason) -> None:
        """Outcomes are a set: adding one twice keeps the first. Unknown ones are refused."""
        row = {"call_id": call_id, "outcome": check_outcome(outcome),
               "created_at": self.sql.dialect.now()}  # fmt: skip
        insert(self.sql, "outcomes", row, ignore=True)

    def mark_answered(self, call_id: str, *, at: datetime | None = None) -> None:
        """When the receptionist answered: the origin of the call's turn times (the
        first answer stays, for a caller back from a transfer)."""
        self.sql.execute(
            "UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
            [self._time(at) or self.sql.dialect.now(), call_id],
        )

    def end_call(self, call_id: str, *, at: datetime | None = None) -> None:
        self.sql.execute(
            "UPDATE calls SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            [self._time(at) or self.sql.dialect.now(), call_id],
        )

    def close_open_calls(
        self, owned: frozenset[str], outcome: Outcome, *, asterisk: str | None = None
    ) -> int:
        """End every call row still open except `owned`, adding `outcome`; how many.
        With `asterisk`, only that server's rows (and rows that name no server)."""
        sql, params = "SELECT id FROM calls WHERE ended_at IS NULL", []
        if asterisk is not None:
            sql, params = f"{sql} AND (asterisk = ? OR asterisk IS NULL)", [asterisk]
        open_ids = [r["id"] for r in self.sql.query(sql, params)]
        left = [call_id for call_id in open_ids if call_id not in owned]
        for call_id in left:  # outcome first: a row cut between the two stays open
            self.add_outcome(call_id, outcome)
            self.end_call(call_id)
        return len(left)

    def mark_handled(self, message_id: int) -> bool:
        """Mark a message handled (keeping the first handled time); False if there is none."""
        cursor = self.sql.execute(
            "UPDATE messages SET status = 'handled', handled_at = coalesce(handled_at, ?) "
            "WHERE id = ?",
            [self.sql.dialect.now(), message_id],
        )
        return cursor.rowcount > 0

    def _insert(self, table: str, **values: Any) -> int:
        if values.get("created_at") is None:
            values["created_at"] = self.sql.dialect.now()
        row_id = insert(self.sql, table, values)
        if row_id is None:  # every table written here has an integer id
            raise StoreError(f"insert into {table} returned no row id")
        return row_id

    # --- reads -------------------------------------------------------------------

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
        conditions: dict[str, Any] = {
            "c.business = ?": business,
            "c.started_at >= ?": self._time(since),
            "c.started_at < ?": self._time(until),
        }
        if search:
            found = self.sql.dialect.search("turns", "t.id", search)
            if found is None:
                return []  # nothing searchable in it (only punctuation): nothing matches
            condition, term = found
            conditions[f"c.id IN (SELECT t.call_id FROM turns t WHERE {condition})"] = term
        clause, params = where(conditions)
        sql = f"{call_select(self.sql)}{clause} ORDER BY c.started_at DESC LIMIT ?"
        return [call_record(row) for row in self.sql.query(sql, [*params, limit])]

    def resolve_call_id(self, prefix: str) -> str | None:
        """The id of the call whose id is or starts with `prefix`; ValueError if ambiguous."""
        sql = "SELECT id FROM calls WHERE id = ? OR substr(id, 1, length(?)) = ? LIMIT 3"
        ids = [row["id"] for row in self.sql.query(sql, [prefix, prefix, prefix])]
        if prefix in ids:
            return prefix
        if len(ids) > 1:
            raise ValueError(f"'{prefix}' matches several calls; give more of the id")
        return str(ids[0]) if ids else None

    def get_call(self, call_id: str) -> CallRecord | None:
        """One call with its conversation, tool calls, messages and recordings."""
        rows = self.sql.query(call_select(self.sql) + "WHERE c.id = ?", [call_id])
        if not rows:
            return None

        def rows_of(table: str, order: str = "id") -> list[Row]:
            sql = f"SELECT * FROM {table} WHERE call_id = ? ORDER BY {order}"
            return self.sql.query(sql, [call_id])

        return dataclasses.replace(
            call_record(rows[0]),
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
        conditions: dict[str, Any] = {
            "business = ?": business,
            "status = ?": status,
            "created_at >= ?": self._time(since),
            "created_at < ?": self._time(until),
        }
        if search:
            found = self.sql.dialect.search("messages", "id", search)
            if found is None:
                return []
            conditions[found[0]] = found[1]
        clause, params = where(conditions)
        sql = f"SELECT * FROM messages {clause} ORDER BY created_at DESC, id DESC LIMIT ?"
        return [from_row(MessageRecord, row) for row in self.sql.query(sql, [*params, limit])]

    def list_bookings(self, *, business: str | None = None) -> list[dict[str, Any]]:
        """Bookings by appointment start, earliest first; their times as aware datetimes."""
        clause, params = where({"business = ?": business})
        rows = self.sql.query(f"SELECT * FROM bookings {clause} ORDER BY start, id", params)
        for row in rows:
            for key in ("start", "end", "created_at"):
                if isinstance(row[key], str):  # SQLite's ISO text; PostgreSQL's are datetimes
                    row[key] = datetime.fromisoformat(row[key])
        return rows

    def get_message(self, message_id: int) -> MessageRecord | None:
        rows = self.sql.query("SELECT * FROM messages WHERE id = ?", [message_id])
        return from_row(MessageRecord, rows[0]) if rows else None


def _on_writer(
    method: Callable[Concatenate[Store, P], R],
) -> Callable[Concatenate[AsyncStore, P], Coroutine[Any, Any, R]]:
    """The awaitable twin of a Store method, run on the AsyncStore's thread."""

    async def run(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        def call() -> R:
            # Looked up by name on the instance, so a subclass or a test double can override.
            bound: Callable[P, R] = getattr(self._store.result(), method.__name__)
            return bound(*args, **kwargs)

        return await self._submit(method.__name__, call)

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run


class AsyncStore:
    """The Store for asyncio code: every operation runs, in order, on one dedicated thread."""

    def __init__(self, location: Location | str, *, create: bool = True) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        # Opened on that thread: a connection belongs to the thread that made it.
        self._store = self._executor.submit(Store, location, create=create)

    async def open(self) -> AsyncStore:
        """Wait for the connection (and the schema): errors surface now, not on first use."""
        await asyncio.wrap_future(self._store)
        return self

    async def _submit(self, name: str, call: Callable[[], R]) -> R:
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        # Shielded: a write whose awaiting task is cancelled (teardown often is)
        # still happens; it is already queued behind the writes before it.
        try:
            return await asyncio.shield(future)
        except StoreError:
            raise
        except sqlite3.Error as exc:  # raised by a table module's own driver call
            raise StoreError(f"{name}: {exc}") from exc

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

        return await self._submit(getattr(func, "__name__", "operation"), call)

    async def close(self) -> None:
        """Finish queued writes, close the connection and stop the thread."""

        def close() -> None:
            if self._store.exception() is None:  # nothing to close if opening failed
                self._store.result().close()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, close)
        finally:
            self._executor.shutdown(wait=False)
