"""The call log's schema: named sqlite-utils migrations, applied in order on open."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from receptionist.store.outbox_tables import create_outbox

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


@migrations(name="0004_web_users")
def _web_users(db: Database) -> None:
    # The web page's accounts. Passwords are scrypt hashes; sessions are stored by the
    # SHA-256 of their cookie token, so a copy of the database opens no session.
    users = {"id": int, **_columns("username password_hash role businesses"), "created_at": str}
    db.table("users").create(users, pk="id", not_null={"username", "password_hash", "role"})
    db.table("users").create_index(["username"], unique=True)
    sessions = _columns("token_hash user_id:int csrf created_at expires_at")
    db.table("sessions").create(sessions, pk="token_hash")
    audit = {"id": int, **_columns("username action target"), "created_at": str}
    db.table("audit").create(audit, pk="id")
    db.table("audit").create_index(["created_at"])
    # Who on the staff took a message on, and their note.
    for column in ("assigned_to", "note"):
        db.table("messages").add_column(column, str)


@migrations(name="0005_booking_guard")
def _booking_guard(db: Database) -> None:
    # A slot is held (status 'held') before the calendar is asked and becomes 'booked'
    # once the event exists; the unique index lets only one hold or booking per slot.
    # Rows from before have no calendar_id, and NULLs never collide in a unique index.
    bookings = db.table("bookings")
    bookings.add_column("calendar_id", str)
    bookings.add_column("caller_email", str)
    bookings.add_column("status", str, not_null_default="booked")
    bookings.create_index(["calendar_id", "start"], unique=True)


@migrations(name="0006_retention_sweeps")
def _retention_sweeps(db: Database) -> None:
    # One row per retention sweep (dry runs too): what went, and the file size around it.
    columns = _columns("at business dry_run:int rows:int files:int bytes:int "
                       "db_bytes_before:int db_bytes_after:int detail")  # fmt: skip
    db.table("retention_sweeps").create({"id": int, **columns}, pk="id")


@migrations(name="0007_incremental_vacuum", transactional=False)
def _incremental_vacuum(db: Database) -> None:
    # Lets a retention sweep give freed pages back to the filesystem. auto_vacuum only
    # takes effect on an existing database through one full VACUUM (outside a transaction).
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("VACUUM")


@migrations(name="0008_outbox")
def _outbox(db: Database) -> None:
    # Events for webhooks and email, written by triggers in the same transaction as the
    # row they report, and their deliveries to each channel.
    create_outbox(db)


@migrations(name="0009_handoffs")
def _handoffs(db: Database) -> None:
    # What became of a caller after leaving the receptionist (see handoff/follow.py):
    # kind transfer|voicemail|operator, the department, its target (dial string or
    # mailbox), and the result once known.
    spec = "call_id kind department target result"
    columns = {"id": int, **_columns(spec), "created_at": str}
    db.table("handoffs").create(columns, pk="id", foreign_keys=[("call_id", "calls", "id")])
    db.table("handoffs").create_index(["call_id"])


@migrations(name="0010_outcome_names")
def _outcome_names(db: Database) -> None:
    # Outcomes are an enum: a row's label must be one of these names (kept up to date with
    # the code's list on every open, see outcomes.py). Labels already stored stay valid.
    db.execute("CREATE TABLE outcome_names (name TEXT PRIMARY KEY)")
    db.execute("INSERT INTO outcome_names SELECT DISTINCT outcome FROM outcomes")
    db.execute(
        "CREATE TRIGGER outcomes_known BEFORE INSERT ON outcomes "
        "WHEN NEW.outcome NOT IN (SELECT name FROM outcome_names) "
        "BEGIN SELECT RAISE(ABORT, 'unknown call outcome'); END"
    )


@migrations(name="0011_call_usage")
def _call_usage(db: Database) -> None:
    # What each call's model used (JSON, in the provider's billing units) and the cost
    # estimated at the configured prices, with the day those prices were read.
    columns = _columns("call_id provider usage cost:float currency prices_taken created_at")
    db.table("call_usage").create(columns, pk="call_id", foreign_keys=[("call_id", "calls", "id")])


@migrations(name="0012_call_owner")
def _call_owner(db: Database) -> None:
    # Which instance and which Asterisk server have the call (records.CallOwner); the
    # partial index serves the sweeps, which look only at open rows of their own server.
    for column in ("instance", "asterisk"):
        db.table("calls").add_column(column, str)
    db.execute("CREATE INDEX calls_open ON calls (asterisk) WHERE ended_at IS NULL")


@migrations(name="0013_call_answered_at")
def _call_answered_at(db: Database) -> None:
    # When the receptionist answered (after the ring): the transcript's turn times count
    # from it, so tool calls (wall-clock rows) are placed on the same clock.
    db.table("calls").add_column("answered_at", str)


@migrations(name="0014_callbacks")
def _callbacks(db: Database) -> None:
    # A callback staff place from the web page is a call row too: direction 'callback'
    # (NULL: an inbound call), the message it answers, and who placed it. A user's desk
    # phone extension is where their callbacks ring first.
    calls = db.table("calls")
    calls.add_column("direction", str)
    calls.add_column("message_id", int)
    calls.add_column("placed_by", str)
    db.table("users").add_column("extension", str)
