"""A bulk import (rows added outside any call) into a business with no channel for the
event: every event is still prepared, and the log does not grow by a line per row."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from receptionist.store.log import Store
from receptionist.store.sql import insert
from tests.unit.delivery_helpers import make_business, running_worker
from tests.waiting import eventually

ROWS = 300


async def test_a_bulk_import_without_channels_logs_no_line_per_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    business = make_business(tmp_path, [])
    caplog.set_level(logging.INFO, logger="receptionist")
    async with running_worker(db, {"test-co": business}):
        with store.sql.transaction():  # one transaction, as an import script would
            for n in range(ROWS):
                insert(store.sql, "messages", {
                    "call_id": None, "business": "test-co", "caller_name": f"Caller {n}",
                    "callback_number": "+15550000000", "message": "imported", "status": "new",
                    "created_at": "2026-01-01T00:00:00.000+00:00",
                })  # fmt: skip

        def all_prepared() -> bool:
            sql = "SELECT count(*) AS n FROM events WHERE prepared_at IS NULL"
            return int(store.sql.query(sql)[0]["n"]) == 0

        await eventually(all_prepared, 30)
    events = int(store.sql.query("SELECT count(*) AS n FROM events")[0]["n"])
    store.close()
    assert events == ROWS
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(info) < 10, [r.getMessage() for r in info[:12]]
