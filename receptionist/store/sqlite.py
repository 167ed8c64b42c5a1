"""The call log in a SQLite file (the default; sqlite-utils): opening it, and the `Db`
the shared queries run on.

WAL with synchronous=FULL: each commit is fsync'd before the write returns, so a
message the model has confirmed survives a SIGKILL or a power cut.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlite_utils import Database

from receptionist.store.outcomes import known_outcomes
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
                with self.db.atomic():
                    for name in known_outcomes():
                        self.db.execute("INSERT OR IGNORE INTO outcome_names VALUES (?)", [name])
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

    def table_names(self) -> set[str]:
        return set(self.db.table_names())

    def row_bytes(self, table: str) -> str:
        columns = [column.name for column in self.db.table(table).columns]
        return " + ".join(f"coalesce(length(CAST([{name}] AS BLOB)), 0)" for name in columns)

    def size_bytes(self) -> int:
        """The file and its WAL."""
        if str(self.path) == ":memory:":
            return 0
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(path.stat().st_size for path in (self.path, wal) if path.exists())

    def zero_on_delete(self) -> None:
        self.db.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed

    def reclaim(self, tables: Sequence[str]) -> None:
        names = self.table_names()
        with self.db.atomic():
            for table in tables:
                fts = f"{table}_fts"
                if fts in names:
                    # Merges the index's segments, dropping the deleted rows' terms for good.
                    self.db.execute(f"INSERT INTO [{fts}]([{fts}]) VALUES ('optimize')")
        # Python's execute() steps a statement once, which frees one page: executescript()
        # runs it to the end, freeing them all (auto_vacuum is incremental, migration 0007).
        self.db.conn.executescript("PRAGMA incremental_vacuum;")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
