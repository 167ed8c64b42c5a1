"""Which engine holds the call log: the `database` setting is a SQLite file path (the
embedded default) or a postgresql:// URL (the `receptionist[postgres]` extra). The one
place that chooses; everything else talks to the `Db` it returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from receptionist.store.pg.url import PostgresUrl, is_postgres
from receptionist.store.sql import Db

Location = Path | PostgresUrl


def database_arg(text: str) -> Location:
    """A `--db` value: a postgresql:// URL, else a file path."""
    return PostgresUrl(text) if is_postgres(text) else Path(text)


def open_db(location: Location | str, *, create: bool = True, durable: bool = True) -> Db:
    """Connect (and bring the schema up to date). `create=False`: a missing SQLite file
    is FileNotFoundError rather than a new empty log. `durable=False`: commits return
    before they reach the disk (for work that is simply done again if lost, such as a
    delivery worker's claims). A PostgreSQL server refusing is a StoreError, its
    password hidden."""
    if isinstance(location, str):
        location = database_arg(location)
    if isinstance(location, PostgresUrl):
        try:
            from receptionist.store.pg.db import PgDb
        except ImportError:
            raise ValueError(
                "a postgresql:// database needs psycopg: pip install 'receptionist[postgres]'"
            ) from None
        return PgDb(location, durable=durable)
    from receptionist.store.sqlite import SqliteDb

    return SqliteDb(location, create=create, durable=durable)


async def wakeups(location: Location | str, channel: str) -> AsyncIterator[None]:
    """An item whenever a trigger announced new work on `channel` (PostgreSQL's
    LISTEN/NOTIFY), and once each time listening (re)starts; nothing on SQLite, whose
    readers poll."""
    if isinstance(location, str):
        location = database_arg(location)
    if not isinstance(location, PostgresUrl):
        return
    from receptionist.store.pg.listen import notifications

    async for item in notifications(location, channel):
        yield item
