"""Open the call log the `database` setting names: a SQLite file (the embedded default)
or a PostgreSQL server (a postgresql:// URL, with the `receptionist[postgres]` extra).

Both give the same calls/turns/tool calls/messages/recordings/outcomes interface. The
web page's accounts, the inbox and retention sweeps still need SQLite (docs/postgresql.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from receptionist.business import Business
from receptionist.store.pg.url import PostgresUrl, is_postgres
from receptionist.store.sqlite import AsyncStore, Store

if TYPE_CHECKING:
    from receptionist.store.pg.store import AsyncPgStore
    from receptionist.store.pg.sync import PgStore

Database = Path | PostgresUrl


def _postgres() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ValueError(
            "a postgresql:// database needs psycopg: pip install 'receptionist[postgres]'"
        ) from None


async def open_store(database: Database) -> AsyncStore | AsyncPgStore:
    """The service's call log. PostgreSQL is connected and migrated now, so a wrong URL or
    a server that is down stops the start with ValueError (its password hidden)."""
    if not isinstance(database, PostgresUrl):
        return AsyncStore(database)
    _postgres()
    from receptionist.store.pg.store import AsyncPgStore

    store = AsyncPgStore(database)
    try:
        return await store.open()
    except sqlite3.Error as error:  # PgStoreError: already without the password
        await store.close()
        raise ValueError(f"cannot open the call log: {error}") from None


def open_sync_store(database: Database, *, create: bool = True) -> Store | PgStore:
    """The call log for the CLI. `create=False`: a missing SQLite file is an error
    (FileNotFoundError) rather than a new empty log."""
    if not isinstance(database, PostgresUrl):
        return Store(database, create=create)
    _postgres()
    from receptionist.store.pg.sync import PgStore

    return PgStore(database)


def postgres_limits(database: Database, businesses: Mapping[str, Business]) -> list[str]:
    """Why this configuration cannot run on `database` (empty when it can)."""
    if not isinstance(database, PostgresUrl):
        return []
    return [
        f"business {slug!r} books appointments, which needs the SQLite call log for now"
        for slug, business in sorted(businesses.items())
        if business.calendar
    ]


def database_arg(text: str) -> Database:
    """A `--db` value: a postgresql:// URL, else a file path."""
    return PostgresUrl(text) if is_postgres(text) else Path(text)


def sqlite_path(database: Database, what: str) -> Path:
    """The SQLite file for a part that runs on SQLite only; ValueError naming it otherwise."""
    if isinstance(database, PostgresUrl):
        raise ValueError(
            f"{what} needs the SQLite call log, not PostgreSQL ({database}): see docs/postgresql.md"
        )
    return database
