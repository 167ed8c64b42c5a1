"""Deliveries as people see them: list, one with its attempts, resending, and a call's
notifications with how far each got on every channel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from receptionist.delivery.outbox import utcnow
from receptionist.store.log import Store
from receptionist.store.records import from_row
from receptionist.store.sql import as_time


@dataclass(frozen=True)
class AttemptRecord:
    started_at: datetime
    duration_ms: float | None
    status_code: int | None
    error: str | None
    result: str


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    event_id: str
    event_type: str
    business: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    call_id: str | None = None
    attempt_log: tuple[AttemptRecord, ...] = ()
    payload: dict[str, Any] | None = None


_SELECT = (
    "SELECT d.*, e.type AS event_type, e.call_id, e.payload FROM deliveries d "
    "JOIN events e ON e.id = d.event_id "
)


def _record(row: dict[str, Any]) -> DeliveryRecord:
    payload = row.pop("payload", None)
    if row.get("status") != "pending":
        row["next_attempt_at"] = None  # only a pending delivery has a next attempt
    return DeliveryRecord(**{**vars(from_row(DeliveryRecord, row)),
                             "payload": json.loads(payload) if payload else None})  # fmt: skip


def list_deliveries(
    store: Store,
    *,
    failed: bool = False,
    business: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[DeliveryRecord]:
    """Newest first; `failed` keeps only those that gave up (or were refused); `since`
    (included) and `until` (excluded) bound when the delivery was queued."""
    where = ["1 = 1"]
    params: list[Any] = []
    if failed:
        where.append("d.status = 'failed'")
    if business:
        where.append("d.business = ?")
        params.append(business)
    if since is not None:
        where.append("d.created_at >= ?")
        params.append(store.sql.dialect.time(since))
    if until is not None:
        where.append("d.created_at < ?")
        params.append(store.sql.dialect.time(until))
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY d.created_at DESC, d.id DESC LIMIT ?"
    return [_record(row) for row in store.sql.query(sql, [*params, limit])]


def get_delivery(store: Store, delivery_id: int) -> DeliveryRecord | None:
    """One delivery with every attempt made (status codes, errors) and the document sent."""
    rows = store.sql.query(_SELECT + "WHERE d.id = ?", [delivery_id])
    if not rows:
        return None
    attempts = store.sql.query(
        "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY id", [delivery_id]
    )
    found = _record(rows[0])
    log = tuple(from_row(AttemptRecord, row) for row in attempts)
    return DeliveryRecord(**{**vars(found), "attempt_log": log})


def retry_deliveries(
    store: Store, *, ids: list[int] | None = None, all_failed: bool = False
) -> list[int]:
    """Queue failed deliveries to be sent again now (with a fresh set of attempts); the
    ids that were queued. A delivery already sent or pending is left as it is."""
    if not ids and not all_failed:
        return []
    where = "status = 'failed'"
    params: list[Any] = [store.sql.dialect.time(utcnow())]
    if ids:
        where += f" AND id IN ({','.join('?' * len(ids))})"
        params += ids
    rows = store.sql.query(
        f"UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, "
        f"lease_owner = NULL, lease_until = NULL WHERE {where} RETURNING id",
        params,
    )
    return sorted(row["id"] for row in rows)


@dataclass(frozen=True)
class ChannelStatus:
    """One notification's delivery to one channel, as far as it has got."""

    channel: str
    status: str  # pending | sent | failed
    attempts: int
    last_status: int | None
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class Notification:
    """An event about a call (message.taken, call.ended, ...) and its deliveries."""

    event_id: str
    type: str
    created_at: datetime
    deliveries: tuple[ChannelStatus, ...]  # empty while the event waits to be prepared


# An event prepared with no delivery went to no channel (none configured for it): it is
# not a notification anyone was sent, so it is left out.
_OF_CALL = (
    "SELECT e.id AS event_id, e.type, e.created_at, d.channel, d.status, d.attempts, "
    "d.last_status, d.last_error, d.sent_at FROM events e "
    "LEFT JOIN deliveries d ON d.event_id = e.id "
    "WHERE e.call_id = ? AND (e.prepared_at IS NULL OR d.id IS NOT NULL) ORDER BY e.seq, d.id"
)


def notifications_of(store: Store, call_id: str) -> list[Notification]:
    """The call's notifications in the order they were raised, each with its channels."""
    rows = store.sql.query(_OF_CALL, [call_id])
    found: list[Notification] = []
    for _, group in groupby(rows, key=lambda row: row["event_id"]):
        events = list(group)
        channels = tuple(from_row(ChannelStatus, row) for row in events if row["channel"])
        first = events[0]
        created = as_time(first["created_at"])
        assert created is not None  # events.created_at is NOT NULL
        found.append(Notification(first["event_id"], first["type"], created, channels))
    return found


def status_label(delivery: ChannelStatus) -> str:
    """sent, pending (retrying after failed attempts), or failed after its retries."""
    tries = f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}"
    if delivery.status == "failed":
        return f"failed after {tries}" + (f": {delivery.last_error}" if delivery.last_error else "")
    if delivery.status == "pending" and delivery.attempts:
        return f"pending, retrying ({tries} failed)"
    return delivery.status
