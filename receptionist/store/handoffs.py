"""The `handoffs` table: where a caller went after the receptionist, and what came of it.

Rows are written when the call leaves Stasis (kind, department) and completed by the
follower (handoff/follow.py) from Asterisk's events: answered, missed, left, ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from receptionist.store.log import Store
from receptionist.store.sql import insert


@dataclass(frozen=True, slots=True)
class Handoff:
    call_id: str
    kind: str  # transfer | voicemail | operator
    department: str | None
    target: str | None  # the dial string or the mailbox
    result: str | None  # answered | missed | left | not_left; None while unknown


def add_handoff(
    store: Store, call_id: str, kind: str, department: str | None, target: str | None = None
) -> None:
    row = {"call_id": call_id, "kind": kind, "department": department, "target": target,
           "created_at": store.sql.dialect.now()}  # fmt: skip
    insert(store.sql, "handoffs", row)


def set_result(store: Store, call_id: str, kind: str, result: str) -> bool:
    """Complete the latest open handoff of `kind` for the call (or add one, e.g. the
    dialplan's own operator fallback). False if that handoff already has a result."""
    rows = store.sql.query(
        "SELECT id, result FROM handoffs WHERE call_id = ? AND kind = ? ORDER BY id DESC LIMIT 1",
        [call_id, kind],
    )
    if rows and rows[0]["result"] is not None:
        return False
    if not rows:
        add_handoff(store, call_id, kind, None)
        return set_result(store, call_id, kind, result)
    store.sql.execute("UPDATE handoffs SET result = ? WHERE id = ?", [result, rows[0]["id"]])
    return True


def end_call_at(store: Store, call_id: str, at: datetime) -> None:
    """The call's true end: when its channel was destroyed, wherever it was by then."""
    moment = store.sql.dialect.time(at)
    store.sql.execute("UPDATE calls SET ended_at = ? WHERE id = ?", [moment, call_id])


def handoffs_of(store: Store, call_id: str) -> list[Handoff]:
    rows = store.sql.query(
        "SELECT call_id, kind, department, target, result FROM handoffs"
        " WHERE call_id = ? ORDER BY id",
        [call_id],
    )
    return [Handoff(**row) for row in rows]


# How a person reads a handoff (the CLI's `calls show` and the web call page).
_KINDS = {"transfer": "transfer to", "voicemail": "voicemail for", "operator": "operator for"}
_RESULTS = {"answered": "answered", "missed": "missed", "left": "message left",
            "not_left": "no message left"}  # fmt: skip


def handoff_label(handoff: Handoff) -> str:
    """Where the caller went, e.g. "transfer to Billing (PJSIP/201)"."""
    words = _KINDS.get(handoff.kind, handoff.kind)
    where = f"{words} {handoff.department}" if handoff.department else words.split()[0]
    return f"{where} ({handoff.target})" if handoff.target else where


def result_label(handoff: Handoff) -> str:
    """What came of it; "unknown" until Asterisk has said (or when it never did)."""
    if handoff.result is None:
        return "unknown"
    return _RESULTS.get(handoff.result, handoff.result)
