"""What the call log returns: plain frozen records, and their JSON form for the CLI."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    start_ms: int
    end_ms: int
    created_at: datetime


@dataclass(frozen=True)
class ToolCallRecord:
    name: str
    arguments: str
    result: str
    duration_ms: float
    created_at: datetime


@dataclass(frozen=True)
class RecordingRecord:
    path: str
    duration_s: float | None
    created_at: datetime
    id: int | None = None  # the web page serves a recording by this, never by position
    purged_at: datetime | None = None  # retention removed the file; the row stays


@dataclass(frozen=True)
class MessageRecord:
    id: int
    call_id: str | None
    business: str
    caller_name: str
    callback_number: str
    message: str
    status: str
    created_at: datetime
    handled_at: datetime | None


@dataclass(frozen=True)
class CallOwner:
    """Who runs a call: the receptionist instance (host and ARI app) and the Asterisk
    server it came through (ari.AriClient.server_id). With several Asterisk servers on
    one call log, an instance judges only its own server's rows (service/reclaim.py)."""

    instance: str
    asterisk: str


@dataclass(frozen=True)
class CallRecord:
    id: str
    business: str
    caller_number: str | None
    channel_id: str | None
    started_at: datetime
    ended_at: datetime | None
    # Who had the call (see CallOwner); None on rows from before they were recorded.
    instance: str | None = None
    asterisk: str | None = None
    outcomes: tuple[str, ...] = ()
    turn_count: int = 0
    message_count: int = 0
    answered_at: datetime | None = None  # None: never answered by the receptionist
    direction: str | None = None  # "callback": staff called back; None: an inbound call
    message_id: int | None = None  # the message a callback answered
    placed_by: str | None = None  # the staff member who placed a callback
    # Filled by get_call only; turns in spoken order (start_ms).
    turns: tuple[Turn, ...] = ()
    tool_calls: tuple[ToolCallRecord, ...] = ()
    messages: tuple[MessageRecord, ...] = ()
    recordings: tuple[RecordingRecord, ...] = ()


R = TypeVar("R")


def from_row(cls: Callable[..., R], row: dict[str, Any]) -> R:
    """Build a record dataclass from a row: known columns only, *_at columns as datetimes."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(
        **{
            # SQLite gives ISO text, PostgreSQL datetimes already.
            key: datetime.fromisoformat(value)
            if key.endswith("_at") and isinstance(value, str) and value
            else value
            for key, value in row.items()
            if key in names
        }
    )


def to_json(record: Any) -> Any:
    """A record (or a list of them) as JSON-ready data: datetimes become ISO 8601 strings."""
    if isinstance(record, list | tuple):
        return [to_json(item) for item in record]
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_json(getattr(record, f.name)) for f in dataclasses.fields(record)}
    return record.isoformat() if isinstance(record, datetime) else record
