"""The outbox's tables, and the triggers that fill it.

An event row is written by a trigger on the row it reports (a message, a booking,
an outcome, a call's end), so it is part of the same transaction as that row:
either both are committed or neither is, whichever code path wrote the row.
"""

from __future__ import annotations

from sqlite_utils import Database

# A random (version 4) UUID made by SQLite itself: each event gets a stable id at commit.
_UUID = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
    "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
    "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)
# The same text form as the store's times: UTC ISO 8601 with milliseconds.
_NOW = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"

_TABLES = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    business TEXT NOT NULL,
    call_id TEXT,
    ref_id INTEGER,
    created_at TEXT NOT NULL,
    payload TEXT,
    prepared_at TEXT,
    lease_owner TEXT,
    lease_until TEXT
);

CREATE INDEX events_unprepared ON events (prepared_at, seq);

CREATE INDEX events_call ON events (call_id);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id),
    business TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (event_id, channel)
);

CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    started_at TEXT NOT NULL,
    duration_ms REAL,
    status_code INTEGER,
    error TEXT,
    result TEXT NOT NULL
);

CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);
"""

_INSERT = "INSERT INTO events (id, type, business, call_id, ref_id, created_at) VALUES "

_TRIGGERS = f"""
CREATE TRIGGER events_message_taken AFTER INSERT ON messages BEGIN
    {_INSERT} ({_UUID}, 'message.taken', NEW.business, NEW.call_id, NEW.id, {_NOW});
END;

-- A slot is first held, then booked once the calendar has the event: only that counts.
CREATE TRIGGER events_appointment_booked AFTER INSERT ON bookings
WHEN NEW.status = 'booked' BEGIN
    {_INSERT} ({_UUID}, 'appointment.booked', NEW.business, NEW.call_id, NEW.id, {_NOW});
END;

CREATE TRIGGER events_appointment_confirmed AFTER UPDATE OF status ON bookings
WHEN OLD.status <> 'booked' AND NEW.status = 'booked' BEGIN
    {_INSERT} ({_UUID}, 'appointment.booked', NEW.business, NEW.call_id, NEW.id, {_NOW});
END;

CREATE TRIGGER events_call_ended AFTER UPDATE OF ended_at ON calls
WHEN OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL BEGIN
    {_INSERT} ({_UUID}, 'call.ended', NEW.business, NEW.id, NULL, {_NOW});
END;

-- A transfer nobody answered brings the caller back: the call goes on, so its
-- end (held back while a transfer may return, see the worker) is not reported yet.
CREATE TRIGGER events_transfer_missed AFTER INSERT ON outcomes
WHEN NEW.outcome = 'transfer_failed' BEGIN
    DELETE FROM events
        WHERE call_id = NEW.call_id AND type = 'call.ended' AND prepared_at IS NULL;
    UPDATE calls SET ended_at = NULL WHERE id = NEW.call_id;
    {_INSERT.removesuffix(" VALUES ")}
        SELECT {_UUID}, 'transfer.missed', business, id, NULL, {_NOW}
        FROM calls WHERE id = NEW.call_id;
END;
"""


def create_outbox(db: Database) -> None:
    """Create the outbox tables and triggers (migration 0008_outbox), inside its transaction."""
    # One statement at a time: executescript() would commit the migration's transaction.
    for statement in (_TABLES + _TRIGGERS).split("\n\n"):
        if statement.strip():
            db.execute(statement)
