"""The call log in a SQLite file (the default; sqlite-utils): opening it, and the `Db`
the shared queries run on.

WAL with synchronous=FULL: each commit is fsync'd before the write returns, so a
message the model has confirmed survives a SIGKILL or a power cut.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from receptionist.store.schema import migrations
from receptionist.store.sql import SQLITE, Cursor, Params, Row, translated


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


class SqliteDb:
    """One sqlite-utils connection, used from one thread."""

    dialect = SQLITE

    def __init__(self, path: Path, *, create: bool = True, durable: bool = True) -> None:
        self.path = path
        if not create and not path.is_file():
            raise FileNotFoundError(f"no database at {path}")
        in_memory = str(path) == ":memory:"  # tests and one-off tools: no file, no lock
        if not in_memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        with translated("open"):
            self.db = Database(memory=True) if in_memory else Database(path)
            # Generous: writes run on their own thread, and a call's rows must not be lost
            # because another process (retention, deliveries, the CLI) held the lock on a
            # busy disk.
            self.db.execute("PRAGMA busy_timeout = 15000")
            with _schema_lock(None if in_memory else path):
                self.db.enable_wal()
                self.db.execute("PRAGMA synchronous = FULL")
                migrations.apply(self.db)
            if not durable:
                # WAL still survives a crash; a power cut may lose the last commits.
                self.db.execute("PRAGMA synchronous = NORMAL")

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        with translated(sql.split(None, 1)[0]):
            return self.db.execute(sql, params)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with translated(sql.split(None, 1)[0]):
            return list(self.db.query(sql, params))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with translated("transaction"), self.db.atomic():
            yield

    def close(self) -> None:
        self.db.close()
