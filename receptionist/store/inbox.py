"""The message inbox: messages with who took them on and their notes, for staff who may
see only some businesses. Marking handled stays `Store.mark_handled`, as in the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from receptionist.store.log import MessageStatus, Store
from receptionist.store.records import MessageRecord, from_row
from receptionist.store.sql import Db, among, where

NOTE_MAX = 2000  # characters of a staff note


@dataclass(frozen=True)
class InboxItem:
    message: MessageRecord
    assigned_to: str | None
    note: str | None
    department: str | None = None  # the department the caller was being put through to


def _select(db: Db) -> str:
    # Messages have no department of their own; a message left after a transfer attempt
    # (nobody answered) is for the department of the call's last transfer.
    department = db.dialect.json_field("t.arguments", "department")
    return (
        f"SELECT m.*, (SELECT {department} FROM tool_calls t WHERE t.call_id = m.call_id"
        " AND t.name = 'transfer_call' ORDER BY t.id DESC LIMIT 1) AS department FROM messages m "
    )


def _item(row: dict[str, Any]) -> InboxItem:
    department = row.get("department")
    return InboxItem(
        from_row(MessageRecord, row), row.get("assigned_to"), row.get("note"),
        str(department) if department else None,
    )  # fmt: skip


def visible_to(businesses: Sequence[str] | None, column: str = "business") -> dict[str, Any]:
    """A condition limiting rows to `businesses` (None: every business)."""
    return among(column, businesses)


def list_inbox(
    store: Store,
    *,
    businesses: Sequence[str] | None = None,
    business: str | None = None,
    status: MessageStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[InboxItem]:
    """New messages first, each group newest first; `search` is full-text (names, text)."""
    db = store.sql
    conditions: dict[str, Any] = {
        **visible_to(businesses, "m.business"),
        "m.business = ?": business,
        "m.status = ?": status,
        "m.created_at >= ?": db.dialect.time(since),
        "m.created_at < ?": db.dialect.time(until),
    }
    if search:
        found = db.dialect.search("messages", "m.id", search)
        if found is None:
            return []  # nothing searchable in it: nothing matches
        conditions[found[0]] = found[1]
    sql, params = where(conditions)
    query = (
        f"{_select(db)}{sql} ORDER BY m.status = 'handled', m.created_at DESC, m.id DESC "
        "LIMIT ? OFFSET ?"
    )
    return [_item(row) for row in db.query(query, [*params, limit, offset])]


def unread_count(store: Store, businesses: Sequence[str] | None = None) -> int:
    sql, params = where({**visible_to(businesses), "status = ?": "new"})
    return int(store.sql.query(f"SELECT count(*) AS n FROM messages {sql}", params)[0]["n"])


def get_item(store: Store, message_id: int) -> InboxItem | None:
    rows = store.sql.query(_select(store.sql) + "WHERE m.id = ?", [message_id])
    return _item(rows[0]) if rows else None


def reopen(store: Store, message_id: int) -> bool:
    """Back to new (the handled time is cleared); False if there is no such message."""
    cursor = store.sql.execute(
        "UPDATE messages SET status = 'new', handled_at = NULL WHERE id = ?", [message_id]
    )
    return cursor.rowcount > 0


def assign(store: Store, message_id: int, username: str | None) -> bool:
    cursor = store.sql.execute(
        "UPDATE messages SET assigned_to = ? WHERE id = ?", [username or None, message_id]
    )
    return cursor.rowcount > 0


def set_note(store: Store, message_id: int, note: str) -> bool:
    text = note.strip()[:NOTE_MAX] or None
    cursor = store.sql.execute("UPDATE messages SET note = ? WHERE id = ?", [text, message_id])
    return cursor.rowcount > 0
