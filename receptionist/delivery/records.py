"""Deliveries as the CLI shows them: list, one with its attempts, and resending."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from receptionist.call_records import from_row
from receptionist.delivery.outbox import iso, utcnow
from receptionist.store import Store


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
    store: Store, *, failed: bool = False, business: str | None = None, limit: int = 50
) -> list[DeliveryRecord]:
    """Newest first; `failed` keeps only those that gave up (or were refused)."""
    where = ["1 = 1"]
    params: list[Any] = []
    if failed:
        where.append("d.status = 'failed'")
    if business:
        where.append("d.business = ?")
        params.append(business)
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY d.created_at DESC, d.id DESC LIMIT ?"
    return [_record(row) for row in store.db.query(sql, [*params, limit])]


def get_delivery(store: Store, delivery_id: int) -> DeliveryRecord | None:
    """One delivery with every attempt made (status codes, errors) and the document sent."""
    rows = list(store.db.query(_SELECT + "WHERE d.id = ?", [delivery_id]))
    if not rows:
        return None
    attempts = store.db.query(
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
    params: list[Any] = [iso(utcnow())]
    if ids:
        where += f" AND id IN ({','.join('?' * len(ids))})"
        params += ids
    with store.db.atomic():
        rows = store.db.execute(
            f"UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            f"lease_owner = NULL, lease_until = NULL WHERE {where} RETURNING id",
            params,
        ).fetchall()
    return sorted(row[0] for row in rows)
