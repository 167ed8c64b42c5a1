"""Several openers of a new database at once (the service's writer, its retention job,
a CLI command) must all get a migrated store, never "database is locked"."""

from __future__ import annotations

import threading
from pathlib import Path

from receptionist.schema import migrations
from receptionist.store import Store


def test_concurrent_first_opens_all_succeed(tmp_path: Path) -> None:
    for attempt in range(25):
        path = tmp_path / f"race-{attempt}.db"
        start = threading.Barrier(6)
        errors: list[BaseException] = []

        def open_it(
            path: Path = path,
            start: threading.Barrier = start,
            errors: list[BaseException] = errors,
        ) -> None:
            start.wait()
            try:
                Store(path).close()
            except Exception as exc:  # noqa: BLE001 (collected, then asserted empty)
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        store = Store(path)
        assert migrations.pending(store.db) == []
        store.close()
