"""The call log on PostgreSQL: the AsyncStore interface (receptionist/store/sqlite.py) over
psycopg 3's asyncio connection, for several instances sharing one database.

One connection per store, used by one operation at a time in the order they were
made (an asyncio.Lock wakes waiters first come, first served), so a call's rows land
in order as with SQLite's writer thread. Each write commits (autocommit; the server's
synchronous_commit makes it durable) before it returns. A connection that broke (a
server restart, a failover) is replaced by a new one on the next operation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg.rows import dict_row

from receptionist.store.pg.schema import migrate
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.records import (
    CallRecord,
    MessageRecord,
    RecordingRecord,
    ToolCallRecord,
    Turn,
    from_row,
)
from receptionist.store.sqlite import MessageStatus, Speaker, StoreError, _call, _where

R = TypeVar("R")
P = ParamSpec("P")
Row = dict[str, Any]
Conn = psycopg.AsyncConnection[Row]


class PgStoreError(sqlite3.OperationalError):
    """A PostgreSQL failure, raised as the sqlite3.Error the call flow already handles
    (a turn not saved, a message to retry), with the driver's error as its cause."""


_CALL_SQL = (
    "SELECT c.*, (SELECT string_agg(outcome, ',') FROM outcomes o WHERE o.call_id = c.id)"
    " AS outcome_list, (SELECT count(*) FROM turns t WHERE t.call_id = c.id) AS turn_count,"
    " (SELECT count(*) FROM messages m WHERE m.call_id = c.id) AS message_count FROM calls c "
)
_QUERY = "websearch_to_tsquery('english', %s)"  # caller text: never a syntax error


async def connect(url: PostgresUrl) -> Conn:
    """A new autocommit connection in UTC; PgStoreError (without the password) if refused."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            url.secret(), autocommit=True, row_factory=dict_row, connect_timeout=10
        )
        await conn.execute("SET TIME ZONE 'UTC'")
    except psycopg.Error as error:
        # The driver's message may quote the connection string: show it redacted.
        raise PgStoreError(f"PostgreSQL at {url}: {_redacted(error, url)}") from None
    return conn


def _redacted(error: BaseException, url: PostgresUrl) -> str:
    return str(error).replace(url.secret(), str(url))


def _serialised(
    method: Callable[Concatenate[AsyncPgStore, Conn, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[AsyncPgStore, P], Coroutine[Any, Any, R]]:
    """Run `method(self, conn, ...)` alone on the connection, in call order; shielded, so a
    write whose awaiting task is cancelled (call teardown often is) still happens."""

    async def run(self: AsyncPgStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async def alone() -> R:
            async with self._lock:
                conn = await self._connection()
                try:
                    return await method(self, conn, *args, **kwargs)
                except psycopg.Error as error:
                    raise PgStoreError(_redacted(error, self.url)) from error

        return await asyncio.shield(asyncio.ensure_future(alone()))

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run


class AsyncPgStore:
    """The call log in PostgreSQL, with the methods of AsyncStore the call flow and CLI use."""

    def __init__(self, url: PostgresUrl) -> None:
        self.url = url
        self._lock = asyncio.Lock()
        self._conn: Conn | None = None

    async def _connection(self) -> Conn:
        if self._conn is None or self._conn.broken or self._conn.closed:
            fresh = await connect(self.url)
            if self._conn is None:  # the first time: bring the schema up to date
                try:
                    await migrate(fresh)
                except BaseException:
                    await fresh.close()
                    raise
            self._conn = fresh
        return self._conn

    async def open(self) -> AsyncPgStore:
        """Connect and migrate now rather than on the first write (errors surface at start)."""
        await self.run_on_connection(_nothing)
        return self

    async def run_on_connection(self, func: Callable[[Conn], Awaitable[R]]) -> R:
        """`await func(conn)` alone on this store's connection: for modules with tables of
        their own, and tests."""

        @_serialised
        async def run(self: AsyncPgStore, conn: Conn) -> R:
            return await func(conn)

        return await run(self)

    async def run(self, func: Callable[..., R], *args: object, **kwargs: object) -> R:
        """Table modules written for SQLite (handoff rows, booking holds) have no PostgreSQL
        version yet: their writes fail as a store error, which callers log and survive."""
        raise StoreError(f"{getattr(func, '__name__', 'operation')}: SQLite only for now")

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()

    # --- writes: each is committed when it returns -------------------------------

    @_serialised
    async def start_call(
        self,
        conn: Conn,
        call_id: str,
        business: str,
        caller_number: str | None,
        channel_id: str | None,
        *,
        at: datetime | None = None,
    ) -> None:
        # ON CONFLICT DO NOTHING: a caller back from a failed transfer re-enters with the id.
        await conn.execute(
            "INSERT INTO calls (id, business, caller_number, channel_id, started_at)"
            " VALUES (%s, %s, %s, %s, coalesce(%s, now())) ON CONFLICT (id) DO NOTHING",
            [call_id, business, caller_number, channel_id, _aware(at)],
        )

    @_serialised
    async def add_turn(
        self, conn: Conn, call_id: str, speaker: Speaker, text: str, start_ms: int, end_ms: int
    ) -> int:
        if speaker not in ("caller", "assistant"):
            raise ValueError(f"speaker must be 'caller' or 'assistant', not {speaker!r}")
        return await _insert(
            conn, "turns", call_id=call_id, speaker=speaker, text=text, start_ms=start_ms,
            end_ms=end_ms,
        )  # fmt: skip

    @_serialised
    async def add_tool_call(
        self, conn: Conn, call_id: str, name: str, arguments: str, result: str,
        duration_ms: float,
    ) -> int:  # fmt: skip
        duration = round(float(duration_ms), 3)
        return await _insert(
            conn, "tool_calls", call_id=call_id, name=name, arguments=arguments, result=result,
            duration_ms=duration,
        )  # fmt: skip

    @_serialised
    async def finish_tool_call(
        self, conn: Conn, tool_call_id: int, result: str, duration_ms: float
    ) -> None:
        await conn.execute(
            "UPDATE tool_calls SET result = %s, duration_ms = %s WHERE id = %s",
            [result, round(float(duration_ms), 3), tool_call_id],
        )

    @_serialised
    async def add_message(
        self,
        conn: Conn,
        call_id: str | None,
        business: str,
        caller_name: str,
        callback_number: str,
        message: str,
        *,
        at: datetime | None = None,
    ) -> int:
        """Save a message; it is durable (committed) when this returns its id."""
        return await _insert(
            conn, "messages", call_id=call_id, business=business, caller_name=caller_name,
            callback_number=callback_number, message=message, status="new",
            created_at=_aware(at),
        )  # fmt: skip

    @_serialised
    async def add_booking(
        self,
        conn: Conn,
        call_id: str | None,
        business: str,
        caller_name: str,
        callback_number: str,
        start: datetime,
        end: datetime,
        event_id: str,
    ) -> int:
        """Record an appointment already made in the calendar (which stays the source of truth)."""
        return await _insert(
            conn, "bookings", call_id=call_id, business=business, caller_name=caller_name,
            callback_number=callback_number, start=_aware(start), end=_aware(end),
            event_id=event_id,
        )  # fmt: skip

    @_serialised
    async def add_recording(
        self, conn: Conn, call_id: str, path: str, duration_s: float | None
    ) -> int:
        return await _insert(
            conn, "recordings", call_id=call_id, path=str(path), duration_s=duration_s
        )

    @_serialised
    async def add_outcome(self, conn: Conn, call_id: str, outcome: str) -> None:
        """Outcomes are a set: adding one twice keeps the first. Stored as lower_snake_case."""
        label = re.sub(r"[^a-z0-9]+", "_", outcome.casefold()).strip("_") or "unknown"
        await conn.execute(
            "INSERT INTO outcomes (call_id, outcome) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [call_id, label],
        )

    @_serialised
    async def mark_answered(self, conn: Conn, call_id: str, *, at: datetime | None = None) -> None:
        """When the receptionist answered: the origin of the call's turn times."""
        await conn.execute(
            "UPDATE calls SET answered_at = coalesce(%s, now())"
            " WHERE id = %s AND answered_at IS NULL",
            [_aware(at), call_id],
        )

    @_serialised
    async def end_call(self, conn: Conn, call_id: str, *, at: datetime | None = None) -> None:
        await conn.execute(
            "UPDATE calls SET ended_at = coalesce(%s, now()) WHERE id = %s AND ended_at IS NULL",
            [_aware(at), call_id],
        )

    @_serialised
    async def close_open_calls(self, conn: Conn, owned: frozenset[str], outcome: str) -> int:
        """End every call row still open except `owned`, adding `outcome`; how many."""
        rows = await _rows(conn, "SELECT id FROM calls WHERE ended_at IS NULL", [])
        left = [row["id"] for row in rows if row["id"] not in owned]
        for call_id in left:
            await conn.execute(
                "INSERT INTO outcomes (call_id, outcome) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                [call_id, outcome],
            )
            await conn.execute("UPDATE calls SET ended_at = now() WHERE id = %s", [call_id])
        return len(left)

    @_serialised
    async def mark_handled(self, conn: Conn, message_id: int) -> bool:
        """Mark a message handled (keeping the first handled time); False if there is none."""
        cursor = await conn.execute(
            "UPDATE messages SET status = 'handled', handled_at = coalesce(handled_at, now())"
            " WHERE id = %s",
            [message_id],
        )
        return cursor.rowcount > 0

    # --- reads -------------------------------------------------------------------

    @_serialised
    async def list_calls(
        self,
        conn: Conn,
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
                "c.business = %s": business,
                "c.started_at >= %s": _aware(since),
                "c.started_at < %s": _aware(until),
                f"c.id IN (SELECT call_id FROM turns WHERE search @@ {_QUERY})": search,
            }
        )
        sql = f"{_CALL_SQL}{where} ORDER BY c.started_at DESC LIMIT %s"
        return [_call(row) for row in await _rows(conn, sql, [*params, limit])]

    @_serialised
    async def resolve_call_id(self, conn: Conn, prefix: str) -> str | None:
        """The id of the call whose id is or starts with `prefix`; ValueError if ambiguous."""
        sql = "SELECT id FROM calls WHERE starts_with(id, %s) LIMIT 3"
        ids = [row["id"] for row in await _rows(conn, sql, [prefix])]
        if prefix in ids:
            return prefix
        if len(ids) > 1:
            raise ValueError(f"'{prefix}' matches several calls; give more of the id")
        return str(ids[0]) if ids else None

    @_serialised
    async def get_call(self, conn: Conn, call_id: str) -> CallRecord | None:
        """One call with its conversation, tool calls, messages and recordings."""
        rows = await _rows(conn, _CALL_SQL + "WHERE c.id = %s", [call_id])
        if not rows:
            return None

        async def rows_of(table: str, order: str = "id") -> list[Row]:
            sql = f"SELECT * FROM {table} WHERE call_id = %s ORDER BY {order}"
            return await _rows(conn, sql, [call_id])

        return dataclasses.replace(
            _call(rows[0]),
            turns=tuple(from_row(Turn, r) for r in await rows_of("turns", "start_ms, id")),
            tool_calls=tuple(from_row(ToolCallRecord, r) for r in await rows_of("tool_calls")),
            messages=tuple(from_row(MessageRecord, r) for r in await rows_of("messages")),
            recordings=tuple(from_row(RecordingRecord, r) for r in await rows_of("recordings")),
        )

    @_serialised
    async def list_messages(
        self,
        conn: Conn,
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
                "business = %s": business,
                "status = %s": status,
                "created_at >= %s": _aware(since),
                "created_at < %s": _aware(until),
                f"search @@ {_QUERY}": search,
            }
        )
        sql = f"SELECT * FROM messages {where} ORDER BY created_at DESC, id DESC LIMIT %s"
        return [from_row(MessageRecord, row) for row in await _rows(conn, sql, [*params, limit])]

    @_serialised
    async def get_message(self, conn: Conn, message_id: int) -> MessageRecord | None:
        rows = await _rows(conn, "SELECT * FROM messages WHERE id = %s", [message_id])
        return from_row(MessageRecord, rows[0]) if rows else None

    @_serialised
    async def list_bookings(self, conn: Conn, *, business: str | None = None) -> list[Row]:
        """Bookings by appointment start, earliest first."""
        where, params = _where({"business = %s": business})
        return await _rows(conn, f"SELECT * FROM bookings {where} ORDER BY start, id", params)


async def _nothing(conn: Conn) -> None:
    return None


def _aware(moment: datetime | None) -> datetime | None:
    """A naive time means this machine's local time, as in the SQLite store."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.astimezone()


async def _insert(conn: Conn, table: str, **values: Any) -> int:
    # Names come from this module only; values are parameters. created_at=None: the default.
    if values.get("created_at", 0) is None:
        del values["created_at"]
    names = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join(["%s"] * len(values))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id"
    cursor = await conn.execute(sql.encode(), list(values.values()))
    row = await cursor.fetchone()
    assert row is not None  # RETURNING always gives the row
    return int(row["id"])


async def _rows(conn: Conn, sql: str, params: list[Any]) -> list[Row]:
    cursor = await conn.execute(sql.encode(), params)
    return await cursor.fetchall()
