"""The `call_usage` table: what each call's model used and what it cost (estimated).

Written once per call, at its end (before the row is closed, so `call.ended` carries it);
summed per business per day by `receptionist usage`. Both engines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from receptionist.store.log import Store
from receptionist.store.sql import as_time


@dataclass(frozen=True, slots=True)
class CallUsage:
    call_id: str
    provider: str
    usage: dict[str, float]
    cost: float | None  # None: no prices configured for the provider
    currency: str | None
    prices_taken: str | None  # the day the prices were read


def record_usage(store: Store, usage: CallUsage) -> None:
    # Upsert: a call whose teardown ran twice keeps its last figures.
    store.sql.execute(
        "INSERT INTO call_usage (call_id, provider, usage, cost, currency, prices_taken,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO UPDATE SET"
        " provider = excluded.provider, usage = excluded.usage, cost = excluded.cost,"
        " currency = excluded.currency, prices_taken = excluded.prices_taken",
        [
            usage.call_id,
            usage.provider,
            json.dumps(usage.usage, sort_keys=True),
            usage.cost,
            usage.currency,
            usage.prices_taken,
            store.sql.dialect.now(),
        ],
    )


def usage_of(store: Store, call_id: str) -> CallUsage | None:
    rows = store.sql.query(
        "SELECT call_id, provider, usage, cost, currency, prices_taken FROM call_usage"
        " WHERE call_id = ?",
        [call_id],
    )
    if not rows:
        return None
    row = rows[0]
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
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    rows = store.sql.query(
        "SELECT u.provider, u.usage, u.cost, u.currency, c.started_at, c.ended_at"
        " FROM call_usage u JOIN calls c ON c.id = u.call_id"
        " WHERE c.business = ? AND c.started_at >= ? AND c.started_at < ?",
        [business, store.sql.dialect.time(start), store.sql.dialect.time(end)],
    )
    days: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        started, ended = as_time(row["started_at"]), as_time(row["ended_at"])
        assert started is not None
        key = (started.astimezone(UTC).date().isoformat(), row["provider"])
        entry = days.setdefault(
            key, {"calls": 0, "seconds": 0.0, "usage": {}, "cost": 0.0, "currency": row["currency"]}
        )
        entry["calls"] += 1
        if ended is not None:
            entry["seconds"] += (ended - started).total_seconds()
        for name, value in json.loads(row["usage"] or "{}").items():
            entry["usage"][name] = entry["usage"].get(name, 0) + value
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


def month_total(days: list[DayUsage]) -> dict[str, Any]:
    """The sum of `usage_by_day`'s lines: calls, minutes, cost and cost per minute."""
    currencies = {d.currency for d in days if d.currency}
    minutes = sum(d.minutes for d in days)
    cost = sum(d.cost for d in days)
    return {
        "calls": sum(d.calls for d in days),
        "minutes": round(minutes, 2),
        "cost": round(cost, 6),
        "currency": currencies.pop() if len(currencies) == 1 else None,
        "per_minute": round(cost / minutes, 6) if minutes else None,
    }


def month_days(first: date) -> tuple[date, date]:
    """The first and last day of the month `first` falls in."""
    first = first.replace(day=1)
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
