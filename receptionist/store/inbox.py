"""The message inbox: messages with who took them on and their notes, for staff who may
see only some businesses. Marking handled stays `Store.mark_handled`, as in the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from receptionist.store.records import MessageRecord, from_row
from receptionist.store.sqlite import MessageStatus, Store, _iso, _where

NOTE_MAX = 2000  # characters of a staff note


@dataclass(frozen=True)
class InboxItem:
    message: MessageRecord
    assigned_to: str | None
    note: str | None
    department: str | None = None  # the department the caller was being put through to


# Messages have no department of their own; a message left after a transfer attempt
# (nobody answered) is for the department of the call's last transfer.
_SELECT = (
    "SELECT m.*, (SELECT json_extract(t.arguments, '$.department') FROM tool_calls t"
    " WHERE t.call_id = m.call_id AND t.name = 'transfer_call' ORDER BY t.id DESC LIMIT 1)"
    " AS department FROM messages m "
)


def _item(row: dict[str, Any]) -> InboxItem:
    department = row.get("department")
    return InboxItem(
        from_row(MessageRecord, row), row.get("assigned_to"), row.get("note"),
        str(department) if department else None,
    )  # fmt: skip


def visible_to(businesses: Sequence[str] | None, column: str = "business") -> dict[str, Any]:
    """A condition limiting rows to `businesses` (None: every business)."""
    if businesses is None:
        return {}
    marks = ",".join("?" * len(businesses)) or "NULL"
    return {f"{column} IN ({marks})": list(businesses)}


def where(conditions: dict[str, Any]) -> tuple[str, list[Any]]:
    """Like store._where, but a list value supplies several parameters (an IN clause)."""
    text, values = _where(conditions)
    params: list[Any] = []
    for value in values:
        params.extend(value if isinstance(value, list) else [value])
    return text, params


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
    sql, params = where(
        {
            **visible_to(businesses, "m.business"),
            "m.business = ?": business,
            "m.status = ?": status,
            "m.created_at >= ?": _iso(since),
            "m.created_at < ?": _iso(until),
            "m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)": (
                store.db.quote_fts(search) if search else None
            ),
        }
    )
    query = (
        f"{_SELECT}{sql} ORDER BY m.status = 'handled', m.created_at DESC, m.id DESC "
        "LIMIT ? OFFSET ?"
    )
    return [_item(row) for row in store.db.query(query, [*params, limit, offset])]


def unread_count(store: Store, businesses: Sequence[str] | None = None) -> int:
    sql, params = where({**visible_to(businesses), "status = ?": "new"})
    return int(store.db.execute(f"SELECT count(*) FROM messages {sql}", params).fetchone()[0])


def get_item(store: Store, message_id: int) -> InboxItem | None:
    rows = list(store.db.query(_SELECT + "WHERE m.id = ?", [message_id]))
    return _item(rows[0]) if rows else None


def reopen(store: Store, message_id: int) -> bool:
    """Back to new (the handled time is cleared); False if there is no such message."""
    cursor = store.db.execute(
        "UPDATE messages SET status = 'new', handled_at = NULL WHERE id = ?", [message_id]
    )
    return cursor.rowcount > 0


def assign(store: Store, message_id: int, username: str | None) -> bool:
    cursor = store.db.execute(
        "UPDATE messages SET assigned_to = ? WHERE id = ?", [username or None, message_id]
    )
    return cursor.rowcount > 0


def set_note(store: Store, message_id: int, note: str) -> bool:
    text = note.strip()[:NOTE_MAX] or None
    cursor = store.db.execute("UPDATE messages SET note = ? WHERE id = ?", [text, message_id])
    return cursor.rowcount > 0
