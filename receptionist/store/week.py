"""What the dashboard counts: inbound calls and messages in a time window, read from the
call log, and how each call went, in the dashboard's five words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from receptionist.store.inbox import visible_to, where
from receptionist.store.sqlite import Store, _iso

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
    sql, params = where({**visible_to(businesses, "c.business"), "c.started_at >= ?": _iso(start),
                         "c.started_at < ?": _iso(end)})  # fmt: skip
    query = (
        "SELECT c.business, c.started_at, c.answered_at,"
        " (SELECT group_concat(outcome) FROM outcomes o WHERE o.call_id = c.id) AS outcomes,"
        " (SELECT count(*) FROM turns t WHERE t.call_id = c.id) AS turns,"
        " (SELECT result FROM handoffs h WHERE h.call_id = c.id AND h.kind = 'transfer'"
        "  ORDER BY h.id DESC LIMIT 1) AS transfer"
        f" FROM calls c {sql} {'AND' if sql else 'WHERE'} c.direction IS NULL"
    )
    out = []
    for row in store.db.query(query, params):
        outcomes = set(filter(None, (row["outcomes"] or "").split(",")))
        kind = kind_of(outcomes, row["transfer"], bool(row["answered_at"]), int(row["turns"]))
        out.append(WeekCall(row["business"], datetime.fromisoformat(row["started_at"]), kind))
    return out


def messages_between(
    store: Store, businesses: Sequence[str] | None, start: datetime, end: datetime
) -> list[WeekMessage]:
    sql, params = where({**visible_to(businesses), "created_at >= ?": _iso(start),
                         "created_at < ?": _iso(end)})  # fmt: skip
    rows = store.db.query(f"SELECT business, created_at, handled_at FROM messages {sql}", params)
    return [
        WeekMessage(
            row["business"],
            datetime.fromisoformat(row["created_at"]),
            datetime.fromisoformat(row["handled_at"]) if row["handled_at"] else None,
        )
        for row in rows
    ]
