"""The call log on PostgreSQL (psycopg 3): the `Db` the shared queries run on.

One connection, used from the store's thread by one operation at a time, in the order
they were made. Autocommit: each statement outside `transaction()` is committed (and,
with the server's default synchronous_commit, durable) before it returns. A connection
that broke (a server restart, a failover) is replaced on the next statement; the one
that found it broken fails as a StoreError, which the call flow survives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import psycopg
from psycopg.rows import dict_row

from receptionist.store.outcomes import known_outcomes
from receptionist.store.pg.schema import migrate, sync_outcomes
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.sql import POSTGRES, Conflict, Cursor, Params, Row, StoreError, pyformat

Conn = psycopg.Connection[Row]


def connect(url: PostgresUrl) -> Conn:
    """A new autocommit connection in UTC; StoreError (without the password) if refused."""
    try:
        conn = psycopg.Connection.connect(
            url.secret(), autocommit=True, row_factory=dict_row, connect_timeout=10
        )
        conn.execute("SET TIME ZONE 'UTC'")
    except psycopg.Error as error:
        # The driver's message may quote the connection string: show it redacted.
        raise StoreError(f"PostgreSQL at {url}: {redacted(error, url)}") from None
    return conn


def redacted(error: BaseException, url: PostgresUrl) -> str:
    return str(error).replace(url.secret(), str(url))


class PgDb:
    dialect = POSTGRES

    def __init__(self, url: PostgresUrl, *, durable: bool = True) -> None:
        self.url = url
        self.durable = durable
        self.conn = self._connect()
        try:
            with self._translated("migrate"):
                migrate(self.conn)
                sync_outcomes(self.conn, known_outcomes())
        except BaseException:
            self.conn.close()
            raise

    @contextlib.contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.IntegrityError as error:  # a unique index, a check: the schema
            raise Conflict(f"{what}: {redacted(error, self.url)}") from error
        except psycopg.Error as error:
            raise StoreError(f"{what}: {redacted(error, self.url)}") from error

    def _connect(self) -> Conn:
        conn = connect(self.url)
        if not self.durable:  # this session's commits return before the WAL is flushed
            conn.execute("SET synchronous_commit = off")
        return conn

    def _live(self) -> Conn:
        if self.conn.broken or self.conn.closed:
            self.conn = self._connect()
        return self.conn

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        with self._translated(sql.split(None, 1)[0]):
            return self._live().execute(pyformat(sql).encode(), params)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        with self._translated(sql.split(None, 1)[0]):
            cursor = self._live().execute(pyformat(sql).encode(), params)
            return cursor.fetchall() if cursor.description else []

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._translated("transaction"), self._live().transaction():
            yield

    def close(self) -> None:
        self.conn.close()

    def table_names(self) -> set[str]:
        rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {str(row["tablename"]) for row in rows}

    def row_bytes(self, table: str) -> str:
        return f"pg_column_size({table}.*)"

    def size_bytes(self) -> int:
        return int(self.query("SELECT pg_database_size(current_database()) AS n")[0]["n"])

    def zero_on_delete(self) -> None:
        """PostgreSQL has no such setting: a deleted row stays in its page until VACUUM
        frees the space and later writes reuse it (docs/postgresql.md says so)."""

    def reclaim(self, tables: Sequence[str]) -> None:
        # Full-text entries are the rows' own tsvector columns: gone with the rows, and
        # their GIN index entries with this VACUUM. A plain VACUUM frees space for reuse
        # and gives back empty pages at a table's end; VACUUM FULL would give back all of
        # it but locks each table against the calls being written, so it is left to admins.
        for table in dict.fromkeys(tables):
            self.execute(f"VACUUM (ANALYZE) {table}")
