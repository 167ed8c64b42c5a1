"""The call log's fixtures over both backends: each test using them runs on SQLite and
on PostgreSQL (a real server, started once per run by tests/postgres.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from receptionist.store.log import AsyncStore, Store
from receptionist.store.open import open_store, open_sync_store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.sql import Db
from tests.postgres import Cluster

# One Store for both engines now; the names stay so the tests read as before.
AnyStore = Store
AnyAsyncStore = AsyncStore


# Named fixtures (name=...) so a test module imports them without shadowing its arguments.
@pytest.fixture(name="database", params=["sqlite", "postgres"])
def database_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Path | PostgresUrl:
    """Where a new, empty call log is: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "data" / "receptionist.db"
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@pytest.fixture(name="store")
def store_fixture(database: Path | PostgresUrl) -> Iterator[AnyStore]:
    opened = open_sync_store(database)
    yield opened
    opened.close()


@pytest.fixture(name="db")
def db_fixture(store: Store) -> Db:
    """The store's connection, for table modules (users, sessions, inbox...)."""
    return store.sql


@pytest.fixture(name="async_store")
async def async_store_fixture(database: Path | PostgresUrl) -> AsyncIterator[AnyAsyncStore]:
    opened = await open_store(database)
    yield opened
    await opened.close()
