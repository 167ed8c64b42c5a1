"""Claiming rows for a background worker when several instances share one PostgreSQL.

A worker (a delivery outbox, a retention sweep) claims a few ready rows for a lease:
`FOR UPDATE SKIP LOCKED` makes a second worker skip rows another is claiming at that
moment instead of waiting for them, and the lease (claimed_until) keeps them off the
other workers after that claim commits. A worker that dies simply lets its lease run
out; its rows are then claimed again. The table needs `id`, `claimed_by text` and
`claimed_until timestamptz` columns.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

Row = dict[str, Any]
EVERY_ROW = sql.SQL("TRUE")

_CLAIM = """
UPDATE {table} SET claimed_by = %(worker)s, claimed_until = now() + %(lease)s
WHERE id IN (
    SELECT id FROM {table}
    WHERE (claimed_until IS NULL OR claimed_until < now()) AND ({ready})
    ORDER BY id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
RETURNING *
"""


async def claim(
    conn: AsyncConnection[Any],
    table: str,
    *,
    worker: str,
    lease: timedelta,
    limit: int = 1,
    ready: sql.Composable = EVERY_ROW,
) -> list[Row]:
    """Claim up to `limit` unclaimed rows of `table` matching `ready`, oldest id first;
    returns them (as changed). Never two workers the same row while a lease runs."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    query = sql.SQL(_CLAIM).format(table=sql.Identifier(table), ready=ready)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(query, {"worker": worker, "lease": lease, "limit": limit})
    rows = await cursor.fetchall()
    return sorted(rows, key=lambda row: row["id"])


async def release(conn: AsyncConnection[Any], table: str, ids: list[int], *, worker: str) -> int:
    """Give claimed rows back at once (e.g. the work failed and should be retried by any
    worker); only rows this worker still holds. Returns how many were released."""
    query = sql.SQL(
        "UPDATE {table} SET claimed_by = NULL, claimed_until = NULL"
        " WHERE id = ANY(%s) AND claimed_by = %s"
    ).format(table=sql.Identifier(table))
    cursor = await conn.execute(query, [ids, worker])
    return cursor.rowcount
