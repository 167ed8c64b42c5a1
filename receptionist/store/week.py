"""What the dashboard counts: inbound calls and messages in a time window, read from the
call log, and how each call went, in the dashboard's five words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from receptionist.store.log import Store
from receptionist.store.sql import among, as_time, where

Kind = Literal["receptionist", "transferred", "missed", "voicemail", "fallback"]
KINDS: tuple[tuple[Kind, str], ...] = (
    ("receptionist", "Answered by the receptionist"),
    ("transferred", "Transferred and answered"),
    ("missed", "Missed"),
    ("voicemail", "Voicemail"),
    ("fallback", "Fallback"),
)


@dataclass(frozen=True)
class WeekCall:
    business: str
    started_at: datetime
    kind: Kind


@dataclass(frozen=True)
class WeekMessage:
    business: str
    created_at: datetime
    handled_at: datetime | None


def kind_of(outcomes: set[str], transfer: str | None, answered: bool, turns: int) -> Kind:
    """How a call went. A transfer nobody answered whose caller came back to the
    receptionist (transfer_failed) counts as the receptionist's."""
    if "fallback" in outcomes:
        return "fallback"
    if "voicemail" in outcomes:
        return "voicemail"
    if "transferred" in outcomes and transfer == "answered":
        return "transferred"
    if "transferred" in outcomes and "transfer_failed" not in outcomes and transfer == "missed":
        return "missed"
    if not answered and turns == 0:
        return "missed"  # the caller gave up while it rang
    return "receptionist"


def calls_between(
    store: Store, businesses: Sequence[str] | None, start: datetime, end: datetime
) -> list[WeekCall]:
    """Inbound calls (callbacks staff placed are left out) started in [start, end)."""
    time = store.sql.dialect.time
    sql, params = where({**among("c.business", businesses), "c.started_at >= ?": time(start),
                         "c.started_at < ?": time(end)})  # fmt: skip
    concat = store.sql.dialect.concat.format("o.outcome")
    query = (
        "SELECT c.business, c.started_at, c.answered_at,"
        f" (SELECT {concat} FROM outcomes o WHERE o.call_id = c.id) AS outcomes,"
        " (SELECT count(*) FROM turns t WHERE t.call_id = c.id) AS turns,"
        " (SELECT result FROM handoffs h WHERE h.call_id = c.id AND h.kind = 'transfer'"
        "  ORDER BY h.id DESC LIMIT 1) AS transfer"
        f" FROM calls c {sql} {'AND' if sql else 'WHERE'} c.direction IS NULL"
    )
    out = []
    for row in store.sql.query(query, params):
        outcomes = set(filter(None, (row["outcomes"] or "").split(",")))
        kind = kind_of(outcomes, row["transfer"], bool(row["answered_at"]), int(row["turns"]))
        started = as_time(row["started_at"])
        assert started is not None  # NOT NULL in the schema
        out.append(WeekCall(row["business"], started, kind))
    return out


def messages_between(
    store: Store, businesses: Sequence[str] | None, start: datetime, end: datetime
) -> list[WeekMessage]:
    time = store.sql.dialect.time
    sql, params = where({**among("business", businesses), "created_at >= ?": time(start),
                         "created_at < ?": time(end)})  # fmt: skip
    rows = store.sql.query(f"SELECT business, created_at, handled_at FROM messages {sql}", params)
    out = []
    for row in rows:
        created = as_time(row["created_at"])
        assert created is not None  # always written
        out.append(WeekMessage(row["business"], created, as_time(row["handled_at"])))
    return out


@dataclass(frozen=True)
class WeekCost:
    started_at: datetime
    cost: float
    currency: str | None


def costs_between(
    store: Store, businesses: Sequence[str] | None, start: datetime, end: datetime
) -> list[WeekCost]:
    """The estimated model cost of each call started in [start, end) that has one."""
    time = store.sql.dialect.time
    sql, params = where({**among("c.business", businesses), "c.started_at >= ?": time(start),
                         "c.started_at < ?": time(end)})  # fmt: skip
    query = (
        "SELECT c.started_at, u.cost, u.currency FROM call_usage u"
        f" JOIN calls c ON c.id = u.call_id {sql} AND u.cost IS NOT NULL"
    )
    out = []
    for row in store.sql.query(query, params):
        started = as_time(row["started_at"])
        assert started is not None
        out.append(WeekCost(started, float(row["cost"]), row["currency"]))
    return out
