"""The `bookings` table as the booking guard: a slot is held in SQLite before the calendar
is asked, under a unique (calendar_id, start) index, so two processes booking the same
calendar cannot both go ahead. The hold already carries the event id the insert will use:
an event the calendar stored is never without its row. Functions take a Store and run on its thread
(AsyncStore.run)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from receptionist.store.sqlite import Store

# A hold older than this was left by a process that died mid-booking: it may be replaced.
STALE_HOLD = timedelta(minutes=2)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def hold_slot(
    store: Store,
    *,
    calendar_id: str,
    call_id: str | None,
    business: str,
    caller_name: str,
    callback_number: str,
    caller_email: str | None,
    start: datetime,
    end: datetime,
    event_id: str = "",
) -> int | None:
    """Hold the slot for this call; None when a booking (or a live hold) already has it."""
    now = datetime.now(UTC)
    with store.db.conn:
        store.db.execute(
            "DELETE FROM bookings WHERE calendar_id = ? AND start = ? AND status = 'held' "
            "AND created_at < ?",
            [calendar_id, _utc(start), _utc(now - STALE_HOLD)],
        )
        try:
            cursor = store.db.execute(
                "INSERT INTO bookings (call_id, business, caller_name, callback_number, "
                "caller_email, calendar_id, start, end, event_id, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'held', ?)",
                [call_id, business, caller_name, callback_number, caller_email, calendar_id,
                 _utc(start), _utc(end), event_id, _utc(now)],
            )  # fmt: skip
        except sqlite3.IntegrityError:
            return None
    return int(cursor.lastrowid or 0)


def stale_events(store: Store, *, calendar_id: str, start: datetime) -> list[str]:
    """Event ids of stale holds on this slot (left by a process that stopped mid-booking):
    their insert may have landed, and nobody was told, so they are deleted from the
    calendar before hold_slot replaces the row."""
    rows = store.db.execute(
        "SELECT event_id FROM bookings WHERE calendar_id = ? AND start = ? AND status = 'held' "
        "AND created_at < ? AND event_id != ''",
        [calendar_id, _utc(start), _utc(datetime.now(UTC) - STALE_HOLD)],
    ).fetchall()
    return [str(row[0]) for row in rows]


def confirm_booking(store: Store, hold_id: int, event_id: str) -> None:
    """The calendar has the event: the hold becomes the booking."""
    with store.db.conn:
        store.db.execute(
            "UPDATE bookings SET status = 'booked', event_id = ? WHERE id = ?", [event_id, hold_id]
        )


def release_hold(store: Store, hold_id: int) -> None:
    """The booking did not happen: free the slot again."""
    with store.db.conn:
        store.db.execute("DELETE FROM bookings WHERE id = ? AND status = 'held'", [hold_id])
