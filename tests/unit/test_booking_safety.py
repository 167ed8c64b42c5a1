"""Booking safety: only offered slots, one winner per slot (the database's unique index
decides, on SQLite and on PostgreSQL), relative dates across DST."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from receptionist.business import Business
from receptionist.store.bookings import hold_slot
from receptionist.store.log import AsyncStore, Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.tools.booking import BOOKING_WAIT_S
from receptionist.tools.calendar import HTTP_TIMEOUT_S
from receptionist.tools.call_tools import CallTools
from receptionist.tools.dates import DateNotUnderstood, parse_day, parse_start
from receptionist.turns.events import TurnLimits
from tests.fakes.google_calendar import FakeGoogleCalendar, write_key_file
from tests.unit.calendar_fixtures import CAL, EMAIL, HOURS, ny, told
from tests.unit.store_backends import (  # noqa: F401 (fixtures: the holds on both engines)
    async_store_fixture,
    database_fixture,
)

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # Monday 10 AM in New York
NEW_YORK = ZoneInfo("America/New_York")
SLOT = "2026-12-01T11:00"


def caller(i: int, start: str = SLOT, **extra: str) -> str:
    return json.dumps({"caller_name": f"Caller {i}", "callback_number": f"21255501{i:02d}",
                       "start": start, **extra})  # fmt: skip


async def offered(business: Business, store: AsyncStore, call_id: str, day: str) -> CallTools:
    tools = CallTools(business, store, call_id, clock=lambda: NOW)
    listed = await tools.call("check_availability", json.dumps({"date": day}))
    assert listed.ok, listed.output
    return tools


async def test_twenty_simultaneous_bookings_of_one_slot_give_one_success(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    calls = [
        await offered(booking_business, async_store, f"call-{i}", "tomorrow") for i in range(20)
    ]
    results = await asyncio.gather(
        *(tools.call("book_appointment", caller(i)) for i, tools in enumerate(calls))
    )
    won = [r for r in results if r.ok]
    lost = [r for r in results if not r.ok]
    assert len(won) == 1 and won[0].output.startswith("Booked Caller")
    assert len(lost) == 19
    for result in lost:
        assert "that time was just taken" in result.output, result.output
        assert "Other free times that day: 8 AM, 8:30 AM, 10:30 AM, 11:30 AM" in result.output
    [event] = fake.events[CAL]
    assert event["start"]["dateTime"] == "2026-12-01T11:00:00-05:00"
    winner = calls[results.index(won[0])]
    await told(winner, won[0])
    [row] = await async_store.list_bookings()
    assert row["status"] == "booked" and row["event_id"] == event["id"]
    # A loser may book one of the alternatives it was just told about.
    retry = await calls[1 if results[0].ok else 0].call(
        "book_appointment", caller(1, "2026-12-01T11:30")
    )
    assert retry.ok, retry.output
    assert len(fake.events[CAL]) == 2


async def test_a_slot_held_by_another_process_is_refused_without_touching_the_calendar(
    booking_business: Business,
    async_store: AsyncStore,
    fake: FakeGoogleCalendar,
    database: Path | PostgresUrl,
) -> None:
    tools = await offered(booking_business, async_store, "call-a", "tomorrow")
    other = Store(database)  # the other process's (or, on PostgreSQL, host's) connection
    try:
        start, end = ny(1, 11), ny(1, 11, 30)

        def hold() -> int | None:
            return hold_slot(other, calendar_id=CAL, call_id="call-b", business="test-co",
                             caller_name="B", callback_number="+12125550100",
                             caller_email=None, start=start, end=end)  # fmt: skip

        assert hold() is not None
        assert hold() is None  # the unique index: one hold per slot
    finally:
        other.close()
    result = await tools.call("book_appointment", caller(1))
    assert not result.ok and "that time was just taken" in result.output
    assert CAL not in fake.events


async def test_a_slot_booked_by_hand_since_the_offer_is_refused_with_alternatives(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    tools = await offered(booking_business, async_store, "call-a", "tomorrow")
    fake.busy[CAL].append((ny(1, 11), ny(1, 12)))  # staff filled 11-12 in the calendar
    result = await tools.call("book_appointment", caller(1))
    assert not result.ok and "that time was just taken" in result.output
    assert "Other free times that day: 8 AM, 8:30 AM, 10:30 AM, noon, 12:30 PM" in result.output
    assert CAL not in fake.events and await async_store.list_bookings() == []


async def test_a_slot_never_offered_is_refused(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    fresh = CallTools(booking_business, async_store, "call-a", clock=lambda: NOW)
    result = await fresh.call("book_appointment", caller(1))
    assert not result.ok and "was not offered on this call" in result.output
    other_day = await offered(booking_business, async_store, "call-b", "2026-12-02")
    result = await other_day.call("book_appointment", caller(1))
    assert not result.ok and "was not offered on this call" in result.output
    assert CAL not in fake.events and fake.freebusy_requests  # refused before any booking


async def test_caller_email_becomes_an_invited_attendee_when_configured(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    assert booking_business.calendar is not None
    calendar = booking_business.calendar.model_copy(update={"invite_callers": True})
    business = booking_business.model_copy(update={"calendar": calendar})
    tools = await offered(business, async_store, "call-a", "tomorrow")
    bad = await tools.call("book_appointment", caller(1, caller_email="ann at example"))
    assert not bad.ok and "email address is not valid" in bad.output
    good = await tools.call("book_appointment", caller(1, caller_email=" Ann@Example.com "))
    assert good.ok, good.output
    [event] = fake.events[CAL]
    assert "attendees" not in event and not fake.invites  # not before the caller is told
    await told(tools, good)
    assert event["attendees"] == [{"email": "Ann@example.com"}]
    assert fake.invites == [(event["id"], "Ann@example.com")]
    assert "Email: Ann@example.com" in event["description"]
    assert "Caller identity not verified" in event["description"]
    [row] = await async_store.list_bookings()
    assert row["caller_email"] == "Ann@example.com"


FRIDAY = date(2026, 10, 30)  # two days before New York leaves daylight saving time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("next Monday", date(2026, 11, 2)),
        ("monday", date(2026, 11, 2)),
        ("the 14th", date(2026, 11, 14)),  # the 14th of October has passed
        ("the 31st", date(2026, 10, 31)),
        ("in two weeks", date(2026, 11, 13)),
        ("tomorrow", date(2026, 10, 31)),
        ("today", FRIDAY),
        ("November 3", date(2026, 11, 3)),
        ("2026-11-05", date(2026, 11, 5)),
        ("lunes", date(2026, 11, 2)),  # the business's other language, as a second try
    ],
)
def test_relative_days_resolve_from_the_business_date(text: str, expected: date) -> None:
    assert parse_day(text, FRIDAY, ("en", "es")) == expected


def test_next_monday_at_10_is_10_local_across_the_dst_change() -> None:
    start = parse_start("next Monday at 10", NEW_YORK, FRIDAY)
    assert start.isoformat() == "2026-11-02T10:00:00-05:00"  # EST, though Friday is EDT
    assert start.astimezone(UTC) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    friday = parse_start("today at 10:30", NEW_YORK, FRIDAY)
    assert friday.isoformat() == "2026-10-30T10:30:00-04:00"
    for bad in ("next blursday", "next Monday at 25", "soon"):
        with pytest.raises(DateNotUnderstood):
            parse_start(bad, NEW_YORK, FRIDAY)


async def test_booking_next_monday_at_10_across_dst_lands_at_10_local(
    fake: FakeGoogleCalendar,
    key: rsa.RSAPrivateKey,
    tmp_path: Path,
    make_business: Callable[[str], Business],
    async_store: AsyncStore,
) -> None:
    key_file = write_key_file(tmp_path / "sa.json", key, fake.token_uri, EMAIL)
    business = make_business(
        HOURS + f"calendar:\n  calendar_id: {CAL}\n  credentials_file: {key_file}\n"
        f"  api_endpoint: {fake.url}\n"
    )
    friday_noon = datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # noon EDT
    tools = CallTools(business, async_store, "call-a", clock=lambda: friday_noon)
    listed = await tools.call("check_availability", '{"date": "next Monday"}')
    assert listed.output.startswith("Free on Monday, November 2: 8 AM, 8:30 AM"), listed.output
    booked = await tools.call("book_appointment", caller(1, "next Monday at 10"))
    assert booked.ok and "Monday, November 2 at 10 AM" in booked.output, booked.output
    [event] = fake.events[CAL]
    assert event["start"]["dateTime"] == "2026-11-02T10:00:00-05:00"
    [row] = await async_store.list_bookings()
    assert row["start"] == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_the_time_limits_nest_so_a_slow_calendar_is_said_not_fallen_back_from() -> None:
    """A request gives up before a booking does (free/busy and insert, one after the
    other), and a booking before the call stops waiting for the tool."""
    assert 2 * HTTP_TIMEOUT_S < BOOKING_WAIT_S
    assert TurnLimits().tool_wait_ms > BOOKING_WAIT_S * 1000
    assert TurnLimits().tool_filler_every_ms < TurnLimits().tool_wait_ms


async def test_a_booking_that_never_reached_the_caller_is_deleted_and_invites_nobody(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    assert booking_business.calendar is not None
    calendar = booking_business.calendar.model_copy(update={"invite_callers": True})
    business = booking_business.model_copy(update={"calendar": calendar})
    tools = await offered(business, async_store, "call-a", "tomorrow")
    result = await tools.call("book_appointment", caller(1, caller_email="ann@example.com"))
    assert result.ok, result.output
    [event] = fake.events[CAL]
    [row] = await async_store.list_bookings()
    assert (row["status"], row["event_id"]) == ("held", event["id"])  # the row came first
    await told(tools, result, heard=False)  # e.g. the caller hung up as it returned
    assert fake.events[CAL] == [] and fake.deleted == [event["id"]]
    assert fake.invites == [] and await async_store.list_bookings() == []
    assert [r for r in fake.requests if "sendUpdates=all" in r] == []


async def test_a_hold_left_by_a_stopped_process_has_its_event_deleted_before_it_is_replaced(
    booking_business: Business,
    async_store: AsyncStore,
    fake: FakeGoogleCalendar,
    database: Path | PostgresUrl,
) -> None:
    """A process stopped between its insert and its confirmation: the row (status held)
    names an event the calendar has. Replacing the stale row deletes that event first,
    so the calendar never keeps an event without its row."""
    tools = await offered(booking_business, async_store, "call-a", "tomorrow")
    start, end = ny(1, 11), ny(1, 11, 30)
    other = Store(database)
    try:
        held = hold_slot(other, calendar_id=CAL, call_id="call-b", business="test-co",
                         caller_name="B", callback_number="+12125550100", caller_email=None,
                         start=start, end=end, event_id="stale0event")  # fmt: skip
        long_ago = other.sql.dialect.time(datetime(2026, 11, 1, tzinfo=UTC))
        other.sql.execute("UPDATE bookings SET created_at = ? WHERE id = ?", [long_ago, held])
    finally:
        other.close()
    fake.events[CAL] = [{"id": "stale0event", "summary": "Appointment: B",
                         "start": {"dateTime": start.isoformat()},
                         "end": {"dateTime": end.isoformat()}}]  # fmt: skip
    result = await told(tools, await tools.call("book_appointment", caller(1)))
    assert result.ok, result.output
    assert fake.deleted == ["stale0event"]
    [event] = fake.events[CAL]
    [row] = await async_store.list_bookings()
    assert (row["status"], row["event_id"], row["caller_name"]) == ("booked", event["id"],
                                                                   "Caller 1")  # fmt: skip
