"""Calendar booking: free slots, booking through a fake Google Calendar, errors, config."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from receptionist.business import Business, ConfigError, build_instructions, load_business
from receptionist.business.hours import Interval
from receptionist.store.log import AsyncStore
from receptionist.tools.calendar import free_slots
from receptionist.tools.call_tools import CallTools
from tests.fakes.google_calendar import FakeGoogleCalendar, write_key_file
from tests.unit.calendar_fixtures import CAL, CALL, EMAIL, HOURS, MONDAY_10AM, ny, told


def tools_for(business: Business, store: AsyncStore, now: datetime = MONDAY_10AM) -> CallTools:
    return CallTools(business, store, CALL, clock=lambda: now)


def slots_business(make_business: Callable[[str], Business]) -> Business:
    calendar = "calendar: {calendar_id: c, credentials_file: x.json, appointment_minutes: 45}\n"
    return make_business(HOURS + calendar)


def replace_file(path: Path, content: str | None) -> None:
    """Overwrite `path`, or delete it when `content` is None."""
    if content is None:
        path.unlink()
    else:
        path.write_text(content, encoding="utf-8")


def test_slots_respect_hours_length_busy_and_now(
    make_business: Callable[[str], Business],
) -> None:
    business = slots_business(make_business)
    tuesday = date(2026, 12, 1)
    all_day = free_slots(business, tuesday, MONDAY_10AM, [])
    # 45-minute slots from 8 AM; the last one ends exactly at 5 PM.
    assert [f"{s:%H:%M}" for s in all_day][:3] == ["08:00", "08:45", "09:30"]
    assert f"{all_day[-1]:%H:%M}" == "16:15" and len(all_day) == 12
    assert all(s.tzinfo is not None and s.utcoffset() is not None for s in all_day)
    assert all_day[0] == ny(1, 8)  # 8 AM New York, not 8 AM UTC
    busy = [Interval(ny(1, 9), ny(1, 10))]
    assert [f"{s:%H:%M}" for s in free_slots(business, tuesday, MONDAY_10AM, busy)][:3] == [
        "08:00", "10:15", "11:00",
    ]  # fmt: skip
    today = free_slots(business, date(2026, 11, 30), MONDAY_10AM, [])
    assert today[0] == ny(30, 10, 15)  # 10:00 has started already: future slots only
    assert free_slots(business, date(2026, 12, 3), MONDAY_10AM, []) == []  # closure
    assert free_slots(business, date(2026, 12, 5), MONDAY_10AM, []) == []  # Saturday: closed
    assert free_slots(business, date(2026, 12, 15), MONDAY_10AM, []) == []  # past 14 days
    assert free_slots(business, date(2026, 11, 27), MONDAY_10AM, []) == []  # the past


async def test_check_availability_speaks_the_free_times(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    result = await tools_for(booking_business, async_store).call(
        "check_availability", '{"date": "tomorrow"}'
    )
    assert result.ok, result.output
    assert result.output.startswith(
        "Free on Tuesday, December 1: 8 AM, 8:30 AM, 10:30 AM, 11 AM, 11:30 AM, noon, "
        "12:30 PM, 1 PM, and 7 later times."
    )
    [query] = fake.freebusy_requests
    assert query["items"] == [{"id": CAL}]
    assert fake.token_requests == 1
    iso = await tools_for(booking_business, async_store).call(
        "check_availability", '{"date": "2026-12-03"}'
    )
    assert iso.ok and iso.output.startswith("No free appointment times on Thursday, December 3")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("next blursday", "'next blursday' is not a date I understand"),
        ("2026-11-01", "is in the past"),
        ("2027-01-20", "only book up to Monday, December 14, 2026"),
    ],
)
async def test_check_availability_refuses_bad_days(
    booking_business: Business, async_store: AsyncStore, day: str, expected: str
) -> None:
    result = await tools_for(booking_business, async_store).call(
        "check_availability", json.dumps({"date": day})
    )
    assert not result.ok and result.output.startswith("error: ") and expected in result.output


async def test_book_appointment_inserts_event_and_records_it(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    await async_store.start_call(CALL, booking_business.slug, None, None)
    args = {"caller_name": "Ann Lee", "callback_number": "(917) 555-0142",
            "start": "2026-12-01T10:30", "reason": "cleaning"}  # fmt: skip
    tools = tools_for(booking_business, async_store)
    assert (await tools.call("check_availability", '{"date": "tomorrow"}')).ok
    result = await told(tools, await tools.call("book_appointment", json.dumps(args)))
    assert result.ok, result.output
    assert result.output.startswith("Booked Ann Lee on Tuesday, December 1 at 10:30 AM.")
    [event] = fake.events[CAL]
    assert event["summary"] == "Appointment: Ann Lee"
    assert event["start"] == {"dateTime": "2026-12-01T10:30:00-05:00",
                              "timeZone": "America/New_York"}  # fmt: skip
    assert event["end"] == {"dateTime": "2026-12-01T11:00:00-05:00",
                            "timeZone": "America/New_York"}  # fmt: skip
    assert "+19175550142" in event["description"] and "cleaning" in event["description"]
    assert "Caller identity not verified" in event["description"]
    assert "attendees" not in event
    [row] = await async_store.list_bookings()
    assert (row["call_id"], row["business"], row["caller_name"], row["callback_number"]) == (
        CALL, "test-co", "Ann Lee", "+19175550142",
    )  # fmt: skip
    assert (row["start"], row["end"]) == (datetime(2026, 12, 1, 15, 30, tzinfo=UTC),
                                          datetime(2026, 12, 1, 16, 0, tzinfo=UTC))  # fmt: skip
    assert row["event_id"] == event["id"]
    assert result.outcome == "appointment_booked"  # for the call to record
    # The same slot again, on another call: no longer offered, as the calendar has it busy.
    other = tools_for(booking_business, async_store)
    listed = await other.call("check_availability", '{"date": "2026-12-01"}')
    assert "10 AM" not in listed.output and "10:30 AM" not in listed.output, listed.output
    again = await other.call("book_appointment", json.dumps(args))
    assert not again.ok and "10:30 AM, Tuesday, December 1 was not offered" in again.output
    assert len(fake.events[CAL]) == 1


async def test_taken_or_closed_slot_is_refused(
    booking_business: Business, async_store: AsyncStore, fake: FakeGoogleCalendar
) -> None:
    tools = tools_for(booking_business, async_store)
    assert (await tools.call("check_availability", '{"date": "tomorrow"}')).ok
    for start in ("2026-12-01T09:30", "2026-12-01T18:00", "2026-12-01T08:10", "soon"):
        args = {"caller_name": "Bo", "callback_number": "2125550123", "start": start}
        result = await tools.call("book_appointment", json.dumps(args))
        assert not result.ok and result.output.startswith("error: "), start
        expected = "is not a date and time I understand" if start == "soon" else "not offered"
        assert expected in result.output, result.output
    bad_number = await tools.call("book_appointment", json.dumps(
        {"caller_name": "Bo", "callback_number": "555 0142", "start": "2026-12-01T11:00"}
    ))  # fmt: skip
    assert "not booked: the callback number is not valid" in bad_number.output
    assert CAL not in fake.events and await async_store.list_bookings() == []


async def test_bad_credentials_file_gives_a_clear_error(
    booking_business: Business, async_store: AsyncStore, tmp_path: Path
) -> None:
    key_file = Path(booking_business.calendar.credentials_file)  # type: ignore[union-attr]
    for content in ("not json", json.dumps({"type": "service_account"})):
        replace_file(key_file, content)
        result = await tools_for(booking_business, async_store).call(
            "check_availability", '{"date": "tomorrow"}'
        )
        assert not result.ok
        assert "calendar is not set up correctly" in result.output
        assert "take a message" in result.output
    replace_file(key_file, None)
    missing = await tools_for(booking_business, async_store).call(
        "check_availability", '{"date": "tomorrow"}'
    )
    assert "calendar is not set up correctly" in missing.output


async def test_wrong_key_and_server_errors_give_a_clear_error(
    booking_business: Business,
    async_store: AsyncStore,
    fake: FakeGoogleCalendar,
    caplog: pytest.LogCaptureFixture,
) -> None:
    args = {"caller_name": "Bo", "callback_number": "2125550123", "start": "2026-12-01T11:00"}
    tools = tools_for(booking_business, async_store)
    assert (await tools.call("check_availability", '{"date": "tomorrow"}')).ok
    fake.fail_status = 500
    result = await tools.call("book_appointment", json.dumps(args))
    assert not result.ok and "calendar cannot be reached right now" in result.output
    assert await async_store.list_bookings() == []  # the slot's hold was released
    fake.fail_status = None
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key_file = Path(booking_business.calendar.credentials_file)  # type: ignore[union-attr]
    write_key_file(key_file, other_key, fake.token_uri, EMAIL)  # the token endpoint refuses it
    refused = await tools_for(booking_business, async_store).call(
        "check_availability", '{"date": "tomorrow"}'
    )
    assert not refused.ok and "calendar is not set up correctly" in refused.output
    assert CAL not in fake.events
    assert "PRIVATE KEY" not in caplog.text


async def test_unshared_calendar_gives_a_clear_error(
    booking_business: Business, async_store: AsyncStore
) -> None:
    assert booking_business.calendar is not None
    calendar = booking_business.calendar.model_copy(update={"calendar_id": "other@example.com"})
    business = booking_business.model_copy(update={"calendar": calendar})
    result = await tools_for(business, async_store).call("check_availability", '{"date": "today"}')
    assert not result.ok and "calendar is not set up correctly" in result.output


async def test_tools_and_prompt_only_with_a_calendar(
    dental: Business, booking_business: Business, async_store: AsyncStore
) -> None:
    without = {s["name"] for s in tools_for(dental, async_store).schemas()}
    assert not without & {"check_availability", "book_appointment"}
    schemas = {s["name"]: s for s in tools_for(booking_business, async_store).schemas()}
    book = schemas["book_appointment"]["parameters"]
    assert book["required"] == ["caller_name", "callback_number", "start"]
    assert schemas["check_availability"]["parameters"]["required"] == ["date"]
    assert "check_availability" in build_instructions(booking_business, MONDAY_10AM)
    assert "check_availability" not in build_instructions(dental, MONDAY_10AM)
    assert booking_business.calendar is not None
    assert booking_business.calendar.appointment_minutes == 30
    assert booking_business.calendar.booking_days_ahead == 14


def test_calendar_config_errors_name_file_field_and_reason(
    write_yaml: Callable[..., Path],
) -> None:
    path = write_yaml(
        HOURS.replace("hours:", "business: {name: Test Co, timezone: America/New_York}\nhours:")
        + "calendar:\n  calendar_id: c\n  credentials_file: ${GOOGLE_KEY}\n"
        "  appointment_minutes: 500\n  booking_days_ahead: 0\n  api_endpoint: not a url\n"
        "  colour: red\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_business(path, env={})
    lines = str(caught.value).splitlines()

    def line_for(field: str) -> str:
        found = [line for line in lines if line.startswith(str(path)) and f": {field}: " in line]
        assert found, f"no {field} in {lines}"
        return found[0]

    assert "GOOGLE_KEY is not set" in line_for("calendar.credentials_file")
    assert "less than or equal to 240" in line_for("calendar.appointment_minutes")
    assert "greater than or equal to 1" in line_for("calendar.booking_days_ahead")
    assert "URL" in line_for("calendar.api_endpoint")
    assert "unknown field" in line_for("calendar.colour")
    loaded = load_business(
        write_yaml(
            "business: {name: Test Co, timezone: America/New_York}\nhours: {}\n"
            "calendar: {calendar_id: c, credentials_file: '${GOOGLE_KEY}'}\n"
        ),
        env={"GOOGLE_KEY": "/secrets/key.json"},
    )
    assert loaded.calendar is not None and loaded.calendar.credentials_file == "/secrets/key.json"
