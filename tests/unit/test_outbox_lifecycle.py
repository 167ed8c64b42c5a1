"""The outbox meets booking and retention: a held slot announces nothing, a confirmed
booking announces once, and old finished deliveries go with the retention sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from receptionist.business import Business
from receptionist.store.bookings import confirm_booking, hold_slot, release_hold
from receptionist.store.log import Store
from receptionist.store.retention import sweep
from tests.unit.test_retention import businesses  # noqa: F401  (fixture)

START = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def _events(store: Store, kind: str) -> int:
    return int(store.db.execute("SELECT count(*) FROM events WHERE type = ?", [kind]).fetchone()[0])


def test_only_a_confirmed_booking_is_announced(tmp_path: Path) -> None:
    store = Store(tmp_path / "calls.db")
    slot = {"calendar_id": "cal", "call_id": None, "business": "alpha", "caller_name": "Jo",
            "callback_number": "+15552345678", "caller_email": None,
            "start": START, "end": START + timedelta(minutes=30)}  # fmt: skip
    released = hold_slot(store, **slot)
    assert released is not None
    release_hold(store, released)  # the calendar refused: nothing to tell anyone
    assert _events(store, "appointment.booked") == 0
    held = hold_slot(store, **slot)
    assert held is not None and _events(store, "appointment.booked") == 0
    confirm_booking(store, held, "evt-1")
    assert _events(store, "appointment.booked") == 1
    store.close()


def test_retention_removes_finished_deliveries_only(
    tmp_path: Path,
    businesses: dict[str, Business],  # noqa: F811
) -> None:
    store = Store(tmp_path / "calls.db")
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    old, new = (now - timedelta(days=d) for d in (200, 1))
    with store.db.conn:
        for n, (created, status) in enumerate(
            [(old, "sent"), (old, "failed"), (old, "pending"), (new, "sent")]
        ):
            event = f"e{n}"
            store.db.execute(
                "INSERT INTO events (id, type, business, created_at, prepared_at) "
                "VALUES (?, 'message.taken', 'alpha', ?, ?)",
                [event, created.isoformat(), created.isoformat()],
            )
            store.db.execute(
                "INSERT INTO deliveries (id, event_id, business, channel, status, "
                "next_attempt_at, created_at) VALUES (?, ?, 'alpha', 'hook', ?, ?, ?)",
                [n, event, status, created.isoformat(), created.isoformat()],
            )
            store.db.execute(
                "INSERT INTO delivery_attempts (delivery_id, started_at, result) "
                "VALUES (?, ?, 'retry')",
                [n, created.isoformat()],
            )
    dry = sweep(store, businesses, now, kinds=["delivery"], dry_run=True)
    report = sweep(store, businesses, now, kinds=["delivery"])
    assert dry.rows == report.rows == 2 + 2 + 2  # attempts, deliveries, events of e0 and e1
    left = store.db.execute("SELECT event_id, status FROM deliveries ORDER BY id").fetchall()
    assert left == [("e2", "pending"), ("e3", "sent")]
    events = [row[0] for row in store.db.execute("SELECT id FROM events ORDER BY id")]
    assert events == ["e2", "e3"]
    store.close()
