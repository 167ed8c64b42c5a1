"""An event's JSON document (schema version 1, see docs/webhooks.md), read from the call log.

Built once, when the worker first takes the event, and stored with it: every
channel and every retry sends the same document, so receivers see one version.
"""

from __future__ import annotations

from typing import Any

from receptionist.business.models import Business
from receptionist.delivery.outbox import PendingEvent
from receptionist.store.log import Store
from receptionist.store.records import CallRecord, MessageRecord
from receptionist.store.sql import as_text
from receptionist.store.usage import usage_of

SCHEMA_VERSION = 1
EXCERPT_TURNS = 6
TURN_TEXT_MAX = 300  # caller text is capped wherever it leaves the call log


def build_payload(store: Store, event: PendingEvent, business: Business | None) -> dict[str, Any]:
    call = store.get_call(event.call_id) if event.call_id else None
    messages: list[MessageRecord] = []
    if event.type == "message.taken" and event.ref_id is not None:
        found = store.get_message(event.ref_id)
        messages = [found] if found else []
    elif call is not None:
        messages = list(call.messages)
    appointment = None
    if event.type == "appointment.booked" and event.ref_id is not None:
        rows = store.sql.query(
            'SELECT id, caller_name, callback_number, start, "end" FROM bookings WHERE id = ?',
            [event.ref_id],
        )
        if rows:  # times as the document's UTC ISO text, whichever engine stored them
            appointment = {key: as_text(value) for key, value in rows[0].items()}
    return {
        "version": SCHEMA_VERSION,
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at,
        "business": {
            "slug": event.business,
            "name": business.business.name if business else event.business,
            "timezone": business.business.timezone if business else None,
        },
        "call": {**_call(call, business), "model": _model(store, call.id)} if call else None,
        "messages": [_message(m) for m in messages],
        "appointment": appointment,
        "summary": None,
        "transcript_excerpt": _excerpt(call) if call else [],
    }


def _call(call: CallRecord, business: Business | None) -> dict[str, Any]:
    duration = None
    if call.ended_at is not None:
        duration = round((call.ended_at - call.started_at).total_seconds(), 1)
    template = business.notifications.call_url if business else None
    return {
        "id": call.id,
        "caller_number": call.caller_number,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "duration_seconds": duration,
        "outcomes": list(call.outcomes),
        "url": template.replace("{call_id}", call.id) if template else None,
    }


def _model(store: Store, call_id: str) -> dict[str, Any] | None:
    """What the call's model used and its estimated cost (None until the call has ended)."""
    used = usage_of(store, call_id)
    if used is None:
        return None
    return {"provider": used.provider, "usage": used.usage, "estimated_cost": used.cost,
            "currency": used.currency, "prices_taken": used.prices_taken}  # fmt: skip


def _message(m: MessageRecord) -> dict[str, Any]:
    return {
        "id": m.id,
        "caller_name": m.caller_name,
        "callback_number": m.callback_number,
        "text": m.message,
        "created_at": m.created_at.isoformat(),
    }


def _excerpt(call: CallRecord) -> list[dict[str, str]]:
    turns = sorted(call.turns, key=lambda t: t.start_ms)[-EXCERPT_TURNS:]
    return [{"speaker": t.speaker, "text": t.text[:TURN_TEXT_MAX]} for t in turns]
