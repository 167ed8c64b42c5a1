"""Whether the call log takes a write right now (for /health), on either engine."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from pathlib import Path

from receptionist.store.engine import Location
from receptionist.store.pg.url import PostgresUrl

PROBE_TIMEOUT_S = 1.0  # a call log locked longer than this is as good as down for a call


def probe_call_log(database: Path) -> str | None:
    """A SQLite call log: None when it takes a write (a file made in its directory, and
    the database's write lock taken), else why it does not."""
    try:
        with tempfile.NamedTemporaryFile(dir=database.parent, prefix=".health-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
        # mode=rw: never create the database here (the store does, with its schema).
        conn = sqlite3.connect(f"file:{database}?mode=rw", uri=True, timeout=PROBE_TIMEOUT_S)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock every call's rows need
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        return str(exc) or type(exc).__name__
    return None


async def probe(database: Location) -> str | None:
    """None when the call log takes a write, else why it does not."""
    if isinstance(database, PostgresUrl):
        from receptionist.store.pg.health import probe_postgres  # only with the extra

        return await probe_postgres(database)
    return await asyncio.to_thread(probe_call_log, database)
