"""The `bookings` table as the booking guard: a slot is held in the call log before the
calendar is asked, under a unique (calendar_id, start) index, so two processes (on one
host or, with PostgreSQL, several) booking the same calendar cannot both go ahead: the
database refuses the second hold, no lock in one process decides. The hold already
carries the event id the insert will use: an event the calendar stored is never without
its row. Functions take a Store and run on its thread (AsyncStore.run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receptionist.store.log import Store
from receptionist.store.sql import Conflict, insert

# A hold older than this was left by a process that died mid-booking: it may be replaced.
STALE_HOLD = timedelta(minutes=2)


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
    time = store.sql.dialect.time
    now = datetime.now(UTC)
    row = {"call_id": call_id, "business": business, "caller_name": caller_name,
           "callback_number": callback_number, "caller_email": caller_email,
           "calendar_id": calendar_id, "start": time(start), "end": time(end), "event_id": event_id,
           "status": "held", "created_at": time(now)}  # fmt: skip
    try:
        with store.sql.transaction():
            store.sql.execute(
                "DELETE FROM bookings WHERE calendar_id = ? AND start = ? AND status = 'held' "
                "AND created_at < ?",
                [calendar_id, time(start), time(now - STALE_HOLD)],
            )
            return insert(store.sql, "bookings", row)
    except Conflict:  # the unique (calendar_id, start) index: someone has the slot
        return None


def stale_events(store: Store, *, calendar_id: str, start: datetime) -> list[str]:
    """Event ids of stale holds on this slot (left by a process that stopped mid-booking):
    their insert may have landed, and nobody was told, so they are deleted from the
    calendar before hold_slot replaces the row."""
    time = store.sql.dialect.time
    rows = store.sql.query(
        "SELECT event_id FROM bookings WHERE calendar_id = ? AND start = ? AND status = 'held' "
        "AND created_at < ? AND event_id != ''",
        [calendar_id, time(start), time(datetime.now(UTC) - STALE_HOLD)],
    )
    return [str(row["event_id"]) for row in rows]


def confirm_booking(store: Store, hold_id: int, event_id: str) -> None:
    """The calendar has the event: the hold becomes the booking."""
    store.sql.execute(
        "UPDATE bookings SET status = 'booked', event_id = ? WHERE id = ?", [event_id, hold_id]
    )


def release_hold(store: Store, hold_id: int) -> None:
    """The booking did not happen: free the slot again."""
    store.sql.execute("DELETE FROM bookings WHERE id = ? AND status = 'held'", [hold_id])
