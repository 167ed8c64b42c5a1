"""The call log's table modules on both engines: handoff rows, the inbox (search,
assignment, notes, departments), the web page's call list, booking holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from receptionist.store import call_log, inbox
from receptionist.store.bookings import confirm_booking, hold_slot, release_hold
from receptionist.store.handoffs import Handoff, add_handoff, end_call_at, handoffs_of, set_result
from receptionist.store.log import Store
from tests.unit.store_backends import (  # noqa: F401 (fixtures: each test runs on both engines)
    database_fixture,
    store_fixture,
)

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_handoffs_are_logged_and_completed(store: Store) -> None:
    store.start_call("c1", "dental", "+12125550123", "chan-1", at=T0)
    add_handoff(store, "c1", "transfer", "Billing", "PJSIP/201")
    assert set_result(store, "c1", "transfer", "missed")
    assert not set_result(store, "c1", "transfer", "answered")  # the first result stays
    # The dialplan's own operator fallback: no row yet, one is added with its result.
    assert set_result(store, "c1", "operator", "answered")
    end_call_at(store, "c1", T0 + timedelta(seconds=24))
    assert handoffs_of(store, "c1") == [
        Handoff("c1", "transfer", "Billing", "PJSIP/201", "missed"),
        Handoff("c1", "operator", None, None, "answered"),
    ]
    call = store.get_call("c1")
    assert call is not None and call.ended_at == T0 + timedelta(seconds=24)


def test_inbox_search_assignment_notes_and_departments(store: Store) -> None:
    store.start_call("c1", "dental", None, None, at=T0)
    store.add_tool_call("c1", "transfer_call", json.dumps({"department": "Billing"}), "ok", 3)
    billing = store.add_message("c1", "dental", "Ann Lee", "+1", "About my billing statement")
    other = store.add_message(None, "plumbing", "Bob", "+2", "A leaking pipe")
    assert inbox.unread_count(store) == 2 and inbox.unread_count(store, ["plumbing"]) == 1
    [found] = inbox.list_inbox(store, search="bill")  # stemmed: "bill" finds "billing"
    assert found.message.id == billing and found.department == "Billing"
    assert inbox.list_inbox(store, search='"NEAR( -') == []  # never query syntax
    assert [i.message.id for i in inbox.list_inbox(store, businesses=["plumbing"])] == [other]
    assert inbox.list_inbox(store, businesses=[]) == []
    assert inbox.assign(store, billing, "alice") and inbox.set_note(store, billing, " x " * 2000)
    assert store.mark_handled(billing)
    item = inbox.get_item(store, billing)
    assert item is not None and item.assigned_to == "alice"
    assert item.note is not None and len(item.note) == inbox.NOTE_MAX
    # New first, then handled.
    assert [i.message.id for i in inbox.list_inbox(store)] == [other, billing]
    assert inbox.reopen(store, billing) and inbox.unread_count(store) == 2
    assert not inbox.reopen(store, 999)


def test_web_call_list_counts_kept_recordings_and_searches(store: Store) -> None:
    store.start_call("c1", "dental", None, None, at=T0)
    store.start_call("c2", "dental", None, None, at=T0 + timedelta(minutes=1))
    store.add_turn("c1", "caller", "I need a cleaning appointment", 0, 900)
    store.add_recording("c1", "/nowhere/c1.wav", 3.0)
    store.add_outcome("c1", "completed")
    rows = call_log.list_calls(store)
    assert [(r.call.id, r.recorded) for r in rows] == [("c2", False), ("c1", True)]
    [hit] = call_log.list_calls(store, search="cleanings", businesses=["dental"])
    assert hit.call.id == "c1" and hit.call.outcomes == ("completed",)
    assert call_log.list_calls(store, search="!!!") == []
    assert call_log.list_calls(store, since=T0 + timedelta(seconds=30))[0].call.id == "c2"


def test_a_slot_has_one_hold_which_becomes_the_booking_or_is_freed(store: Store) -> None:
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=1, minutes=30)
    fields = {"calendar_id": "cal", "business": "dental", "caller_name": "Ann",
              "callback_number": "+1", "caller_email": None,
              "start": start, "end": end}  # fmt: skip
    first = hold_slot(store, call_id="c1", **fields)  # type: ignore[arg-type]
    assert first is not None
    assert hold_slot(store, call_id="c2", **fields) is None  # type: ignore[arg-type]
    release_hold(store, first)
    second = hold_slot(store, call_id="c2", **fields)  # type: ignore[arg-type]
    assert second is not None
    confirm_booking(store, second, "event-1")
    [row] = store.list_bookings()
    assert (row["status"], row["event_id"], row["call_id"]) == ("booked", "event-1", "c2")
    assert hold_slot(store, call_id="c3", **fields) is None  # type: ignore[arg-type]
