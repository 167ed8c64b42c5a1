"""The call log's one clock: a call's turn times count from its answer, which its row
keeps as a wall time (answered_at), so tool calls (wall-clock rows) fall between the
right turns. A caller back from a transfer nobody answered starts a new conversation,
whose clock starts at 0 again: its turns are moved onto the first answer's clock."""

from __future__ import annotations

from datetime import datetime

from receptionist.store.sqlite import AsyncStore


async def log_answer(store: AsyncStore, call_id: str, answered: datetime, returning: bool) -> int:
    """Record the answer; the milliseconds to add to this conversation's turn times."""
    offset = 0
    if returning:
        row = await store.get_call(call_id)
        if row is not None and row.answered_at is not None:
            offset = round((answered - row.answered_at).total_seconds() * 1000)
    await store.mark_answered(call_id, at=answered)  # keeps the first answer's time
    return offset
