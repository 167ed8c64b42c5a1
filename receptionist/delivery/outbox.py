"""The worker's side of the outbox: claim events and deliveries under a lease, record attempts.

Claims are single UPDATE ... RETURNING statements that take only rows whose lease
is free or expired, so several workers (processes, or instances sharing one
PostgreSQL) never send the same delivery at once, and a worker killed mid-send leaves
rows another claims again when the lease runs out. On PostgreSQL the rows to claim are
picked FOR UPDATE SKIP LOCKED: two workers claiming at the same moment each take other
rows instead of waiting on each other. The SQL is the same on both engines
(store/sql.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from receptionist.store.log import Store
from receptionist.store.sql import Db, as_text, as_time, insert

Result = Literal["sent", "retry", "failed"]


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
    created_at: str  # UTC ISO 8601, as documents carry it


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


class Outbox:
    """Outbox operations on one connection (used from one thread)."""

    def __init__(self, store: Store, owner: str) -> None:
        self.store = store
        self.db: Db = store.sql
        self.owner = owner

    def _time(self, moment: datetime | None) -> Any:
        return self.db.dialect.time(moment)

    def _held_since(self, now: datetime, hold_s: float) -> Any:
        return self._time(now - timedelta(seconds=hold_s))

    def has_work(self, now: datetime, *, hold_transfers_s: float) -> bool:
        """A read-only look first, so an idle worker never takes the write lock."""
        # Rows are always read to the end here: a statement stepped to its end is reset at
        # once, so this connection never keeps a read snapshot open between its writes.
        params = {"now": self._time(now), "held_since": self._held_since(now, hold_transfers_s)}
        if self.db.query(_READY_EVENTS + " LIMIT 1", params):
            return True
        return bool(self.db.query(_DUE + " LIMIT 1", {"now": self._time(now)}))

    def claim_events(
        self, now: datetime, lease_s: float, *, hold_transfers_s: float, limit: int = 20
    ) -> list[PendingEvent]:
        """Take events not yet prepared (turned into a document and deliveries)."""
        sql = (
            "UPDATE events SET lease_owner = :owner, lease_until = :until WHERE seq IN ("
            f"{_READY_EVENTS} LIMIT :limit{self.db.dialect.skip_locked}) "
            "RETURNING seq, id, type, business, call_id, ref_id, created_at"
        )
        params = {"owner": self.owner, "now": self._time(now), "limit": limit,
                  "until": self._time(now + timedelta(seconds=lease_s)),
                  "held_since": self._held_since(now, hold_transfers_s)}  # fmt: skip
        with self.db.transaction():
            rows = self.db.query(sql, params)
        events = (PendingEvent(**{**row, "created_at": as_text(row["created_at"])}) for row in rows)
        return sorted(events, key=lambda e: e.seq)

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
        document = None if payload is None else json.dumps(payload, ensure_ascii=False)
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE events SET payload = ?, prepared_at = ?, lease_owner = NULL, "
                "lease_until = NULL WHERE seq = ? AND lease_owner = ? AND prepared_at IS NULL",
                [document, self._time(now), event.seq, self.owner],
            )
            if cursor.rowcount == 0:
                return False
            for channel in channels:
                row = {"event_id": event.id, "business": event.business, "channel": channel,
                       "status": "pending", "next_attempt_at": self._time(now),
                       "created_at": self._time(now)}  # fmt: skip
                insert(self.db, "deliveries", row, ignore=True)
        return True

    def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Claimed]:
        sql = (
            "UPDATE deliveries SET lease_owner = :owner, lease_until = :until "
            f"WHERE id IN ({_DUE} LIMIT :limit{self.db.dialect.skip_locked}) RETURNING id"
        )
        params = {"owner": self.owner, "now": self._time(now), "limit": limit,
                  "until": self._time(now + timedelta(seconds=lease_s))}  # fmt: skip
        with self.db.transaction():
            ids = [row["id"] for row in self.db.query(sql, params)]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.query(
            "SELECT d.id, d.event_id, e.type AS event_type, d.business, d.channel, d.attempts,"
            " e.payload FROM deliveries d JOIN events e ON e.id = d.event_id"
            f" WHERE d.id IN ({marks}) ORDER BY d.next_attempt_at, d.id",
            ids,
        )
        return [Claimed(**{**row, "payload": json.loads(row["payload"])}) for row in rows]

    def record(
        self, claimed: Claimed, attempt: Attempt, started: datetime, retry_at: datetime | None
    ) -> Result:
        """Record one attempt; a retry with no `retry_at` (attempts used up) is a failure."""
        result: Result = attempt.result
        if result == "retry" and retry_at is None:
            result = "failed"
        status = {"sent": "sent", "retry": "pending", "failed": "failed"}[result]
        with self.db.transaction():
            row = {"delivery_id": claimed.id, "started_at": self._time(started),
                   "duration_ms": round(attempt.duration_ms, 1),
                   "status_code": attempt.status_code, "error": attempt.error,
                   "result": result}  # fmt: skip
            insert(self.db, "delivery_attempts", row)
            self.db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, "
                "last_status = ?, last_error = ?, sent_at = ?, lease_owner = NULL, "
                "lease_until = NULL WHERE id = ? AND lease_owner = ?",
                [status, self._time(retry_at or started), attempt.status_code, attempt.error,
                 self._time(utcnow()) if result == "sent" else None, claimed.id, self.owner],
            )  # fmt: skip
        return result

    def release(self) -> None:
        """Give up this worker's leases (on a clean stop), so work resumes at once."""
        with self.db.transaction():
            for table in ("events", "deliveries"):
                self.db.execute(
                    f"UPDATE {table} SET lease_owner = NULL, lease_until = NULL "
                    "WHERE lease_owner = ?",
                    [self.owner],
                )

    def oldest_pending_age(self, now: datetime) -> float:
        """Seconds since the oldest event not yet delivered everywhere was written (0: none)."""
        [row] = self.db.query(
            "SELECT min(at) AS oldest FROM (SELECT min(created_at) AS at FROM events "
            "WHERE prepared_at IS NULL UNION ALL SELECT min(e.created_at) FROM deliveries d "
            "JOIN events e ON e.id = d.event_id WHERE d.status = 'pending') AS pending"
        )
        oldest = as_time(row["oldest"])
        if oldest is None:
            return 0.0
        return max(0.0, (now - oldest).total_seconds())
