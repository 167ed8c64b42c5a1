"""The `call_usage` table: what each call's model used and what it cost (estimated).

Written once per call, at its end (before the row is closed, so `call.ended` carries it);
summed per business per day by `receptionist usage`. SQLite only, like handoffs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from receptionist.store.sqlite import Store


@dataclass(frozen=True, slots=True)
class CallUsage:
    call_id: str
    provider: str
    usage: dict[str, float]
    cost: float | None  # None: no prices configured for the provider
    currency: str | None
    prices_taken: str | None  # the day the prices were read


def record_usage(store: Store, usage: CallUsage) -> None:
    row = {
        "call_id": usage.call_id,
        "provider": usage.provider,
        "usage": json.dumps(usage.usage, sort_keys=True),
        "cost": usage.cost,
        "currency": usage.currency,
        "prices_taken": usage.prices_taken,
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    store.db.table("call_usage").upsert(row, pk="call_id")


def usage_of(store: Store, call_id: str) -> CallUsage | None:
    rows = list(store.db.query("SELECT * FROM call_usage WHERE call_id = ?", [call_id]))
    return _usage(rows[0]) if rows else None


def _usage(row: dict[str, Any]) -> CallUsage:
    return CallUsage(
        row["call_id"],
        row["provider"],
        json.loads(row["usage"] or "{}"),
        row["cost"],
        row["currency"],
        row["prices_taken"],
    )


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: str  # YYYY-MM-DD (UTC, the day the call started)
    provider: str
    calls: int
    minutes: float  # of call time
    usage: dict[str, float]
    cost: float
    currency: str | None


def usage_by_day(store: Store, business: str, first: date, last: date) -> list[DayUsage]:
    """Per day and provider, the calls of `business` that started from `first` to `last`."""
    rows = store.db.query(
        """SELECT substr(c.started_at, 1, 10) AS day, u.provider, u.usage, u.cost, u.currency,
                  c.started_at, c.ended_at
           FROM call_usage u JOIN calls c ON c.id = u.call_id
           WHERE c.business = ? AND substr(c.started_at, 1, 10) BETWEEN ? AND ?
           ORDER BY day, u.provider""",
        [business, first.isoformat(), last.isoformat()],
    )
    days: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = days.setdefault(
            (row["day"], row["provider"]),
            {"calls": 0, "seconds": 0.0, "usage": {}, "cost": 0.0, "currency": row["currency"]},
        )
        entry["calls"] += 1
        if row["ended_at"]:
            span = datetime.fromisoformat(row["ended_at"]) - datetime.fromisoformat(
                row["started_at"]
            )
            entry["seconds"] += span.total_seconds()
        for key, value in json.loads(row["usage"] or "{}").items():
            entry["usage"][key] = entry["usage"].get(key, 0) + value
        entry["cost"] += row["cost"] or 0.0
    return [
        DayUsage(
            day,
            provider,
            e["calls"],
            round(e["seconds"] / 60, 2),
            e["usage"],
            round(e["cost"], 6),
            e["currency"],
        )
        for (day, provider), e in sorted(days.items())
    ]
