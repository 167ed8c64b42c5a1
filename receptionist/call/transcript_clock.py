"""The call log's one clock: a call's turn times count from its answer, which its row
keeps as a wall time (answered_at), so tool calls (wall-clock rows) fall between the
right turns. A caller back from a transfer nobody answered starts a new conversation,
whose clock starts at 0 again: its turns are moved onto the first answer's clock."""

from __future__ import annotations

from datetime import datetime

from receptionist.store.log import Store
from receptionist.store.protocols import CallWriter
from receptionist.store.sql import as_time


def _answer(store: Store, call_id: str, answered: datetime) -> int:
    rows = store.sql.query("SELECT answered_at FROM calls WHERE id = ?", [call_id])
    first = as_time(rows[0]["answered_at"]) if rows else None
    store.mark_answered(call_id, at=answered)  # keeps the first answer's time
    return round((answered - first).total_seconds() * 1000) if first else 0


async def log_answer(store: CallWriter, call_id: str, answered: datetime, returning: bool) -> int:
    """Record the answer; the milliseconds to add to this conversation's turn times."""
    offset = await store.run(_answer, call_id, answered)
    return offset if returning else 0
