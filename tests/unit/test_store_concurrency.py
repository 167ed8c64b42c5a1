"""Several openers of a new database at once (the service's writer, its retention job,
a CLI command; on PostgreSQL, several instances) must all get a migrated store, never
"database is locked" or a migration applied twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from receptionist.store.log import Store
from receptionist.store.pg.schema import MIGRATIONS
from receptionist.store.schema import migrations
from tests.postgres import Cluster


def _open_together(opener: Callable[[], object], count: int = 6) -> list[BaseException]:
    """Run `opener` on `count` threads released at the same moment; the errors raised."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            opener()
        except Exception as exc:  # noqa: BLE001 (collected, then asserted empty)
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_first_opens_all_succeed(tmp_path: Path) -> None:
    for attempt in range(25):
        path = tmp_path / f"race-{attempt}.db"
        assert _open_together(lambda path=path: Store(path).close()) == []
        store = Store(path)
        assert migrations.pending(store.db) == []
        store.close()


def test_concurrent_first_opens_on_postgres_migrate_once(pg_cluster: Cluster) -> None:
    for _ in range(5):
        url = pg_cluster.new_database()
        assert _open_together(lambda url=url: Store(url).close()) == []
        store = Store(url)
        rows = store.sql.query("SELECT name FROM receptionist_migrations ORDER BY applied_at, name")
        names = [row["name"] for row in rows]
        assert names == [name for name, _ in MIGRATIONS]  # each once, in order
        store.close()
