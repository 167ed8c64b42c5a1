"""Whether the PostgreSQL call log takes a write right now (for /health)."""

from __future__ import annotations

import psycopg

from receptionist.store.pg.url import PostgresUrl

PROBE_TIMEOUT_S = 2  # libpq's connect_timeout counts whole seconds


async def probe_postgres(url: PostgresUrl) -> str | None:
    """None when the server accepts a connection and is a primary, else why not."""
    try:
        async with await psycopg.AsyncConnection.connect(
            url.secret(), connect_timeout=PROBE_TIMEOUT_S, autocommit=True
        ) as conn:
            cursor = await conn.execute("SELECT pg_is_in_recovery()")
            row = await cursor.fetchone()
    except psycopg.Error as error:
        return str(error).replace(url.secret(), str(url)) or type(error).__name__
    # A standby (in recovery, e.g. after a failover elsewhere) refuses every write.
    return "read-only: the server is a standby" if row and row[0] else None
