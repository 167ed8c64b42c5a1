"""The worker's side of the outbox: claim events and deliveries under a lease, record attempts.

Claims are single UPDATE ... RETURNING statements that take only rows whose lease
is free or expired, so several workers (processes, or machines sharing the file)
never send the same delivery at once, and a worker killed mid-send leaves rows
another claims again when the lease runs out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlite_utils import Database

from receptionist.store.sqlite import Store

Result = Literal["sent", "retry", "failed"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PendingEvent:
    seq: int
    id: str
    type: str
    business: str
    call_id: str | None
    ref_id: int | None
    created_at: str


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for one attempt: which event, to which channel."""

    id: int
    event_id: str
    event_type: str
    business: str
    channel: str
    attempts: int  # made before this one
    payload: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    result: Result
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0


# Events to prepare. A call that ended by a transfer is held for a while: when nobody
# answers, the caller comes back and the call goes on (see tables.py).
_READY_EVENTS = """
    SELECT seq FROM events e
    WHERE prepared_at IS NULL AND (lease_until IS NULL OR lease_until < :now)
    AND NOT (type = 'call.ended' AND created_at > :held_since
        AND EXISTS (SELECT 1 FROM outcomes o WHERE o.call_id = e.call_id
                    AND o.outcome = 'transferred')
        AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.call_id = e.call_id
                        AND o.outcome = 'transfer_failed'))
    ORDER BY seq"""
_DUE = """
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= :now
    AND (lease_until IS NULL OR lease_until < :now)
    ORDER BY next_attempt_at, id"""


def _held_since(now: datetime, hold_s: float) -> str:
    return iso(now - timedelta(seconds=hold_s))


class Outbox:
    """Outbox operations on one connection (used from one thread)."""

    def __init__(self, store: Store, owner: str) -> None:
        self.store = store
        self.db: Database = store.db
        self.owner = owner

    def has_work(self, now: datetime, *, hold_transfers_s: float) -> bool:
        """A read-only look first, so an idle worker never takes the write lock."""
        # fetchall() everywhere here: a statement stepped to its end is reset at once, so
        # this connection never keeps a read snapshot open between its writes.
        params = {"now": iso(now), "held_since": _held_since(now, hold_transfers_s)}
        if self.db.execute(_READY_EVENTS + " LIMIT 1", params).fetchall():
            return True
        return bool(self.db.execute(_DUE + " LIMIT 1", {"now": iso(now)}).fetchall())

    def claim_events(
        self, now: datetime, lease_s: float, *, hold_transfers_s: float, limit: int = 20
    ) -> list[PendingEvent]:
        """Take events not yet prepared (turned into a document and deliveries)."""
        sql = (
            "UPDATE events SET lease_owner = :owner, lease_until = :until WHERE seq IN ("
            f"{_READY_EVENTS} LIMIT :limit) "
            "RETURNING seq, id, type, business, call_id, ref_id, created_at"
        )
        params = {"owner": self.owner, "now": iso(now), "limit": limit,
                  "until": iso(now + timedelta(seconds=lease_s)),
                  "held_since": _held_since(now, hold_transfers_s)}  # fmt: skip
        with self.db.atomic():
            rows = self.db.execute(sql, params).fetchall()
        return sorted((PendingEvent(*row) for row in rows), key=lambda e: e.seq)

    def prepare(
        self,
        event: PendingEvent,
        payload: dict[str, Any] | None,
        channels: list[str],
        now: datetime,
    ) -> bool:
        """Store the event's payload (None: no channel, no document) and one pending
        delivery per channel, atomically. False if the event is gone (a call that came
        back) or another worker took it."""
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE events SET payload = ?, prepared_at = ?, lease_owner = NULL, "
                "lease_until = NULL WHERE seq = ? AND lease_owner = ? AND prepared_at IS NULL",
                [
                    None if payload is None else json.dumps(payload, ensure_ascii=False),
                    iso(now),
                    event.seq,
                    self.owner,
                ],
            )
            if cursor.rowcount == 0:
                return False
            for channel in channels:
                self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (event_id, business, channel, status, "
                    "next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                    [event.id, event.business, channel, iso(now), iso(now)],
                )
        return True

    def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Claimed]:
        sql = (
            "UPDATE deliveries SET lease_owner = :owner, lease_until = :until "
            f"WHERE id IN ({_DUE} LIMIT :limit) RETURNING id"
        )
        params = {"owner": self.owner, "now": iso(now), "limit": limit,
                  "until": iso(now + timedelta(seconds=lease_s))}  # fmt: skip
        with self.db.atomic():
            ids = [row[0] for row in self.db.execute(sql, params).fetchall()]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT d.id, d.event_id, e.type, d.business, d.channel, d.attempts, e.payload "
            f"FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id IN ({marks}) "
            "ORDER BY d.next_attempt_at, d.id",
            ids,
        ).fetchall()
        return [
            Claimed(id, event_id, kind, business, channel, attempts, json.loads(payload))
            for id, event_id, kind, business, channel, attempts, payload in rows
        ]

    def record(
        self, claimed: Claimed, attempt: Attempt, started: datetime, retry_at: datetime | None
    ) -> Result:
        """Record one attempt; a retry with no `retry_at` (attempts used up) is a failure."""
        result: Result = attempt.result
        if result == "retry" and retry_at is None:
            result = "failed"
        status = {"sent": "sent", "retry": "pending", "failed": "failed"}[result]
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO delivery_attempts (delivery_id, started_at, duration_ms, "
                "status_code, error, result) VALUES (?, ?, ?, ?, ?, ?)",
                [claimed.id, iso(started), round(attempt.duration_ms, 1), attempt.status_code,
                 attempt.error, result],
            )  # fmt: skip
            self.db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, "
                "last_status = ?, last_error = ?, sent_at = ?, lease_owner = NULL, "
                "lease_until = NULL WHERE id = ? AND lease_owner = ?",
                [status, iso(retry_at or started), attempt.status_code, attempt.error,
                 iso(utcnow()) if result == "sent" else None, claimed.id, self.owner],
            )  # fmt: skip
        return result

    def release(self) -> None:
        """Give up this worker's leases (on a clean stop), so work resumes at once."""
        with self.db.atomic():
            for table in ("events", "deliveries"):
                self.db.execute(
                    f"UPDATE {table} SET lease_owner = NULL, lease_until = NULL "
                    "WHERE lease_owner = ?",
                    [self.owner],
                )

    def oldest_pending_age(self, now: datetime) -> float:
        """Seconds since the oldest event not yet delivered everywhere was written (0: none)."""
        [(oldest,)] = self.db.execute(
            "SELECT min(at) FROM (SELECT min(created_at) AS at FROM events "
            "WHERE prepared_at IS NULL UNION ALL SELECT min(e.created_at) FROM deliveries d "
            "JOIN events e ON e.id = d.event_id WHERE d.status = 'pending')"
        ).fetchall()
        if not oldest:
            return 0.0
        return max(0.0, (now - datetime.fromisoformat(oldest)).total_seconds())
