"""Calls for the web page: lists limited to the businesses a user may see, and the
recording file of a call. One call's details stay `Store.get_call`, as in the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from receptionist.store.inbox import visible_to
from receptionist.store.log import Store, call_record, call_select
from receptionist.store.records import CallRecord
from receptionist.store.sql import where

_RECORDED = (
    ", (SELECT count(*) FROM recordings r WHERE r.call_id = c.id AND r.purged_at IS NULL)"
    " AS recorded"
)


@dataclass(frozen=True)
class CallRow:
    call: CallRecord
    recorded: bool


def list_calls(
    store: Store,
    *,
    businesses: Sequence[str] | None = None,
    business: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CallRow]:
    """Newest first; `search` is full-text over both sides of the transcript."""
    db = store.sql
    conditions: dict[str, Any] = {
        **visible_to(businesses, "c.business"),
        "c.business = ?": business,
        "c.started_at >= ?": db.dialect.time(since),
        "c.started_at < ?": db.dialect.time(until),
    }
    if search:
        found = db.dialect.search("turns", "t.id", search)
        if found is None:
            return []  # nothing searchable in it: nothing matches
        conditions[f"c.id IN (SELECT t.call_id FROM turns t WHERE {found[0]})"] = found[1]
    sql, params = where(conditions)
    query = f"{call_select(db, _RECORDED)}{sql} ORDER BY c.started_at DESC LIMIT ? OFFSET ?"
    rows = db.query(query, [*params, limit, offset])
    return [CallRow(call_record({k: v for k, v in row.items() if k != "recorded"}),
                    bool(row["recorded"])) for row in rows]  # fmt: skip


def recording_file(store: Store, call_id: str, recording_id: int, root: Path) -> Path | None:
    """The kept recording `recording_id` of a call, if its file is inside `root` and exists.

    By id, never by position: a purged row before it must not shift which file is served.
    Paths come from the database; one pointing anywhere else (a moved spool, a tampered
    row, `..` in a name) is refused rather than served.
    """
    rows = store.sql.query(
        "SELECT path FROM recordings WHERE id = ? AND call_id = ? AND purged_at IS NULL",
        [recording_id, call_id],
    )
    if not rows:
        return None
    path = Path(rows[0]["path"]).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path
