"""What /health reports: each part the service needs to take a call, and which one fails.

A part is healthy when it can do its job right now: ARI's events websocket is
connected, the AudioSocket server is accepting connections, and the call log takes a
write (a file created in its directory, and SQLite's write lock on the database).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from receptionist.audiosocket.server import AudioSocketServer
from receptionist.store.pg.url import PostgresUrl

PROBE_TIMEOUT_S = 1.0  # a call log locked longer than this is as good as down for a call


@dataclass(frozen=True)
class Health:
    ari: str  # "connected" | "disconnected"
    audiosocket: str  # "listening" | "down"
    call_log: str  # "writable" | "unwritable: <why>"
    active_calls: int

    @property
    def failing(self) -> list[str]:
        return [
            name
            for name, good in (
                ("ari", self.ari == "connected"),
                ("audiosocket", self.audiosocket == "listening"),
                ("call_log", self.call_log == "writable"),
            )
            if not good
        ]

    def body(self) -> dict[str, object]:
        return {
            "status": "ok" if not self.failing else "failing",
            "failing": self.failing,
            "ari": self.ari,
            "audiosocket": self.audiosocket,
            "call_log": self.call_log,
            "active_calls": self.active_calls,
        }


def probe_call_log(database: Path) -> str | None:
    """None when the call log takes a write, else why it does not."""
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


async def check_health(
    *,
    ari_connected: bool,
    audiosocket: AudioSocketServer | None,
    database: Path | PostgresUrl,
    active_calls: int,
) -> Health:
    if isinstance(database, PostgresUrl):
        from receptionist.store.pg.health import probe_postgres  # only with the extra

        problem = await probe_postgres(database)
    else:
        problem = await asyncio.to_thread(probe_call_log, database)
    return Health(
        ari="connected" if ari_connected else "disconnected",
        audiosocket="listening" if audiosocket is not None and audiosocket.listening else "down",
        call_log="writable" if problem is None else f"unwritable: {problem}",
        active_calls=active_calls,
    )
