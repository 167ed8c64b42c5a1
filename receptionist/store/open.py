"""Open the call log the `database` setting names, for the service and for the CLI."""

from __future__ import annotations

from pathlib import Path

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
    "postgres_limits",
    "sqlite_path",
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


# What does not run on PostgreSQL yet, said wherever it matters (serve, config check).
POSTGRES_LIMITS = {
    "retention": "retention sweeps do not run: they run on SQLite only for now",
}


def postgres_limits(database: Location) -> dict[str, str]:
    """The parts of the service that do not run on `database`, each with why (empty when
    every part does)."""
    return dict(POSTGRES_LIMITS) if isinstance(database, PostgresUrl) else {}


def sqlite_path(database: Location, what: str) -> Path:
    """The SQLite file for a part that runs on SQLite only; ValueError naming it otherwise."""
    if isinstance(database, PostgresUrl):
        raise ValueError(
            f"{what} needs the SQLite call log, not PostgreSQL ({database}): see docs/postgresql.md"
        )
    return database
