"""Callbacks in the call log: a call row with direction 'callback', linked to the message
it answers; and each staff member's desk phone extension."""

from __future__ import annotations

import re

from receptionist.core.outcomes import Outcome
from receptionist.store.log import Store
from receptionist.store.sql import Db, insert

EXTENSION_RE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")  # a PJSIP endpoint name: "201"


def check_extension(extension: str) -> str:
    """The extension as stored; ValueError naming the problem."""
    value = extension.strip()
    if not EXTENSION_RE.match(value):
        raise ValueError(
            f"'{value[:30]}' is not a desk phone extension (letters, digits, _ or -, like 201)"
        )
    return value


def set_extension(db: Db, username: str, extension: str | None) -> bool:
    """Set (None: clear) a user's desk phone; False if there is no such user."""
    value = check_extension(extension) if extension else None
    cursor = db.execute(
        "UPDATE users SET extension = ? WHERE username = ?", [value, username.strip().casefold()]
    )
    return cursor.rowcount > 0


def extension_of(db: Db, user_id: int) -> str | None:
    rows = db.query("SELECT extension FROM users WHERE id = ?", [user_id])
    return str(rows[0]["extension"]) if rows and rows[0]["extension"] else None


def open_callback(
    store: Store,
    *,
    call_id: str,
    business: str,
    number: str,
    channel_id: str,
    placed_by: str,
    message_id: int | None,
) -> None:
    """The callback's row, as it starts ringing the staff member's phone."""
    row = {"id": call_id, "business": business, "caller_number": number,
           "channel_id": channel_id, "started_at": store.sql.dialect.now(),
           "direction": "callback", "message_id": message_id, "placed_by": placed_by}  # fmt: skip
    insert(store.sql, "calls", row)


def callback_answered(store: Store, call_id: str, message_id: int | None, mark: bool) -> bool:
    """The caller answered: the row says so, and (with `mark`) their message is handled.
    True when a message was marked by this."""
    store.mark_answered(call_id)
    store.add_outcome(call_id, Outcome.CALLBACK_ANSWERED)
    if mark and message_id is not None:
        return store.mark_handled(message_id)
    return False


def callback_ended(store: Store, call_id: str, outcome: Outcome) -> None:
    store.add_outcome(call_id, outcome)
    store.end_call(call_id)
