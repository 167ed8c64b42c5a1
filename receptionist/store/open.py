"""Open the call log the `database` setting names, for the service and for the CLI."""

from __future__ import annotations

from receptionist.store.engine import Location, database_arg
from receptionist.store.log import AsyncStore, Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.sql import StoreError

Database = Location
__all__ = [
    "Database",
    "database_arg",
    "open_store",
    "open_sync_store",
    "postgres_notes",
]


async def open_store(database: Location) -> AsyncStore:
    """The service's call log, connected and migrated now: a wrong URL or a server that
    is down stops the start with ValueError (its password hidden)."""
    store = AsyncStore(database)
    try:
        return await store.open()
    except StoreError as error:
        await store.close()
        raise ValueError(f"cannot open the call log: {error}") from None


def open_sync_store(database: Location, *, create: bool = True) -> Store:
    """The call log for the CLI. `create=False`: a missing SQLite file is an error
    (FileNotFoundError) rather than a new empty log."""
    return Store(database, create=create)


# What differs on PostgreSQL, said wherever it matters (serve's log, config check).
POSTGRES_NOTES = (
    "recordings are files on the instance that made them: give every instance the same "
    "recordings_dir (a shared mount) for the web page to play any of them",
    "retention deletes rows and their search entries and VACUUMs the tables: the space is "
    "reused, and given back to the filesystem only from a table's end (VACUUM FULL, run by "
    "an admin, gives back the rest); deleted bytes are not overwritten as on SQLite",
)


def postgres_notes(database: Location) -> list[str]:
    """What an admin should know about running on `database` (empty for SQLite)."""
    return list(POSTGRES_NOTES) if isinstance(database, PostgresUrl) else []
