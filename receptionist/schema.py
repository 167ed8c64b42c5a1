"""The call log's schema: named sqlite-utils migrations, applied in order on open."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("receptionist")

# "column[:type] ..." per table; each also gets `id INTEGER PRIMARY KEY` and `created_at`.
_TABLES = {
    "turns": "call_id speaker text start_ms:int end_ms:int",
    "tool_calls": "call_id name arguments result duration_ms:float",
    "messages": "call_id business caller_name callback_number message status handled_at",
    "recordings": "call_id path duration_s:float",
}


def _columns(spec: str) -> dict[str, type]:
    types = {"str": str, "int": int, "float": float}
    return {col.split(":")[0]: types[(col + ":str").split(":")[1]] for col in spec.split()}


@migrations(name="0001_initial")
def _initial(db: Database) -> None:
    calls = db.table("calls")
    columns = _columns("id business caller_number channel_id started_at ended_at")
    calls.create(columns, pk="id", not_null={"business", "started_at"})
    calls.create_index(["started_at"])
    calls.create_index(["business", "started_at"])
    # Foreign keys document the joins but are not enforced (PRAGMA foreign_keys
    # stays off): a message must be saved even if its call row is missing.
    call_fk = [("call_id", "calls", "id")]
    for name, spec in _TABLES.items():
        columns = {"id": int, **_columns(spec), "created_at": str}
        db.table(name).create(columns, pk="id", foreign_keys=call_fk)
    for name, index in (
        ("turns", ["call_id", "start_ms"]),
        ("tool_calls", ["call_id"]),
        ("recordings", ["call_id"]),
        ("messages", ["call_id"]),
        ("messages", ["business", "created_at"]),
        ("messages", ["status", "created_at"]),
    ):
        db.table(name).create_index(index)
    outcomes = db.table("outcomes")
    outcomes.create(_columns("call_id outcome created_at"), pk=("call_id", "outcome"))
    # Porter stemming: searching "bill" finds "billing".
    db.table("turns").enable_fts(["text"], create_triggers=True, tokenize="porter")
    fts_columns = ["caller_name", "message"]
    db.table("messages").enable_fts(fts_columns, create_triggers=True, tokenize="porter")


@migrations(name="0002_recording_purged_at")
def _recording_purged_at(db: Database) -> None:
    # Set when retention removed the file; the row stays as a record that it existed.
    db.table("recordings").add_column("purged_at", str)


@migrations(name="0003_bookings")
def _bookings(db: Database) -> None:
    # Appointments booked in the business's calendar; start/end are UTC like every stored time.
    columns = {"id": int, **_columns("call_id business caller_name callback_number start end"),
               "event_id": str, "created_at": str}  # fmt: skip
    db.table("bookings").create(columns, pk="id", foreign_keys=[("call_id", "calls", "id")])
    db.table("bookings").create_index(["business", "start"])


@migrations(name="0004_handoffs")
def _handoffs(db: Database) -> None:
    # What became of a caller after leaving the receptionist (see handoff/follow.py):
    # kind transfer|voicemail|operator, the department, its target (dial string or
    # mailbox), and the result once known.
    spec = "call_id kind department target result"
    columns = {"id": int, **_columns(spec), "created_at": str}
    db.table("handoffs").create(columns, pk="id", foreign_keys=[("call_id", "calls", "id")])
    db.table("handoffs").create_index(["call_id"])
