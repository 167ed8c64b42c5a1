"""Which engine holds the call log: the `database` setting is a SQLite file path (the
embedded default) or a postgresql:// URL (the `receptionist[postgres]` extra). The one
place that chooses; everything else talks to the `Db` it returns.
"""

from __future__ import annotations

from pathlib import Path

from receptionist.store.pg.url import PostgresUrl, is_postgres
from receptionist.store.sql import Db

Location = Path | PostgresUrl


def database_arg(text: str) -> Location:
    """A `--db` value: a postgresql:// URL, else a file path."""
    return PostgresUrl(text) if is_postgres(text) else Path(text)


def open_db(location: Location | str, *, create: bool = True) -> Db:
    """Connect (and bring the schema up to date). `create=False`: a missing SQLite file
    is FileNotFoundError rather than a new empty log. A PostgreSQL server refusing is a
    StoreError, its password hidden."""
    if isinstance(location, str):
        location = database_arg(location)
    if isinstance(location, PostgresUrl):
        try:
            from receptionist.store.pg.db import PgDb
        except ImportError:
            raise ValueError(
                "a postgresql:// database needs psycopg: pip install 'receptionist[postgres]'"
            ) from None
        return PgDb(location)
    from receptionist.store.sqlite import SqliteDb

    return SqliteDb(location, create=create)
