"""Opening hours: open now, next opening, closures, overnight spans and DST change days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from receptionist.business import Business
from receptionist.business.hours import (
    business_status,
    department_status,
    describe_status,
    describe_week,
    hours_status,
    spoken_time,
)

NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_open_and_closed_on_a_normal_week(dental: Business) -> None:
    monday = business_status(dental, ny(2026, 11, 30, 9, 15))
    assert monday.is_open and monday.closes_at == ny(2026, 11, 30, 17, 0)
    assert describe_status(monday) == "Open now, until 5 PM today."

    friday_evening = business_status(dental, ny(2026, 12, 4, 15, 0))  # Friday closes at 3
    assert not friday_evening.is_open
    assert friday_evening.next_open == ny(2026, 12, 7, 8, 0)  # Monday
    assert describe_status(friday_evening) == "Closed now. Opens again Monday at 8 AM."

    before_open = business_status(dental, ny(2026, 12, 1, 7, 59))
    assert not before_open.is_open and describe_status(before_open).endswith("today at 8 AM.")


def test_now_in_any_timezone_is_judged_in_the_business_timezone(dental: Business) -> None:
    # 13:30 UTC is 08:30 in New York (EST): open, although it is past 5 PM nowhere.
    assert business_status(dental, utc(2026, 12, 1, 13, 30)).is_open
    assert not business_status(dental, utc(2026, 12, 1, 12, 30)).is_open  # 07:30 EST


def test_naive_now_is_refused(dental: Business) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_status(dental, datetime(2026, 12, 1, 9, 0))


def test_closure_date(dental: Business) -> None:
    # The example closes December 24-25, 2026 (Thursday-Friday) for Christmas.
    christmas = business_status(dental, ny(2026, 12, 25, 10, 0))
    assert not christmas.is_open
    assert christmas.closure is not None and christmas.closure.name == "Christmas"
    assert christmas.next_open == ny(2026, 12, 28, 8, 0)
    assert describe_status(christmas) == "Closed now (Christmas). Opens again Monday at 8 AM."
    # The day before the closure starts, the next opening skips both closed days.
    wednesday = business_status(dental, ny(2026, 12, 23, 18, 0))
    assert wednesday.next_open == ny(2026, 12, 28, 8, 0)
    # New Year's Day (a Friday) 2027.
    assert not business_status(dental, ny(2027, 1, 1, 9, 0)).is_open


def test_dst_spring_forward_weekday_hours(dental: Business) -> None:
    # Clocks go forward on Sunday 2026-03-08. Monday 08:00 EDT is 12:00 UTC, not 13:00.
    saturday = business_status(dental, ny(2026, 3, 7, 12, 0))
    assert saturday.next_open is not None
    assert saturday.next_open.astimezone(UTC) == utc(2026, 3, 9, 12, 0)
    assert business_status(dental, utc(2026, 3, 9, 12, 30)).is_open  # 08:30 EDT
    # The Friday before, 13:30 UTC was 08:30 EST; after the change it is 09:30 EDT.
    assert business_status(dental, utc(2026, 3, 6, 12, 30)).is_open is False


def test_dst_spring_forward_gap_inside_hours(make_business: Callable[[str], Business]) -> None:
    b = make_business('hours: {sunday: {open: "01:00", close: "04:00"}}')
    # 01:30 EST on 2026-03-08; the wall clock jumps 02:00 -> 03:00, so 04:00 is 1.5 h away.
    now = utc(2026, 3, 8, 6, 30)
    status = business_status(b, now)
    assert status.is_open and status.closes_at is not None
    assert status.closes_at.astimezone(UTC) - now == timedelta(hours=1, minutes=30)
    # An opening inside the gap (02:30 does not exist that day) happens at 03:30 EDT.
    gap = make_business('hours: {sunday: {open: "02:30", close: "05:00"}}')
    opening = business_status(gap, utc(2026, 3, 8, 5, 0)).next_open
    assert opening is not None and opening.astimezone(UTC) == utc(2026, 3, 8, 7, 30)


def test_dst_fall_back_overnight_department(make_business: Callable[[str], Business]) -> None:
    b = make_business(
        """
        hours: {}
        routing:
          departments:
            - name: Night Line
              extension: "299"
              hours: {saturday: {open: "22:00", close: "06:00"}}
        """
    )
    night = b.routing.departments[0]
    # Clocks go back at 02:00 EDT on 2026-11-01: 01:30 happens twice, both inside the shift.
    first = department_status(b, night, utc(2026, 11, 1, 5, 30))  # 01:30 EDT
    second = department_status(b, night, utc(2026, 11, 1, 6, 30))  # 01:30 EST
    assert first.is_open and second.is_open
    assert first.closes_at is not None
    assert first.closes_at.astimezone(UTC) == utc(2026, 11, 1, 11, 0)
    # Saturday 22:00 EDT to Sunday 06:00 EST is 9 hours, not 8. (Subtract in UTC: Python
    # subtracts two datetimes sharing a tzinfo by wall clock.)
    start = department_status(b, night, utc(2026, 10, 31, 12, 0)).next_open
    assert start is not None
    assert first.closes_at.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=9)


def test_overnight_department(make_business: Callable[[str], Business]) -> None:
    b = make_business(
        """
        hours:
          monday: {open: "08:00", close: "17:00"}
          closures: [{date: 2026-12-07, name: Staff training}]
        routing:
          departments:
            - name: On Call
              extension: "250"
              hours:
                monday: {open: "18:00", close: "08:00"}
                tuesday: {open: "18:00", close: "08:00"}
        """
    )
    on_call = b.routing.departments[0]
    # Tuesday 02:00 is inside Monday's overnight span.
    tuesday_night = department_status(b, on_call, ny(2026, 12, 1, 2, 0))
    assert tuesday_night.is_open and tuesday_night.closes_at == ny(2026, 12, 1, 8, 0)
    assert describe_status(tuesday_night) == "Open now, until 8 AM today."
    monday_evening = department_status(b, on_call, ny(2026, 11, 30, 19, 0))
    assert describe_status(monday_evening) == "Open now, until 8 AM tomorrow."
    midday = department_status(b, on_call, ny(2026, 12, 1, 12, 0))
    assert not midday.is_open and midday.next_open == ny(2026, 12, 1, 18, 0)
    # A business closure on Monday cancels the department's Monday night too.
    closed_monday = department_status(b, on_call, ny(2026, 12, 8, 2, 0))
    assert not closed_monday.is_open and closed_monday.next_open == ny(2026, 12, 8, 18, 0)
    assert describe_week(on_call.hours) == [  # type: ignore[arg-type]
        "Monday and Tuesday: 6 PM to 8 AM the next morning",
        "Wednesday to Sunday: closed",
    ]


def test_all_day_and_split_hours(make_business: Callable[[str], Business]) -> None:
    b = make_business(
        """
        hours:
          monday: {open: "00:00", close: "24:00"}
          tuesday: {open: "00:00", close: "24:00"}
          wednesday: [{open: "08:00", close: "12:00"}, {open: "13:00", close: "17:00"}]
        """
    )
    # Monday and Tuesday touch at midnight: one opening that lasts until Wednesday 00:00.
    status = business_status(b, ny(2026, 11, 30, 23, 0))
    assert status.closes_at == ny(2026, 12, 2, 0, 0)
    late_tuesday = business_status(b, ny(2026, 12, 1, 23, 0))
    assert describe_status(late_tuesday) == "Open now, until midnight tonight."
    lunch = business_status(b, ny(2026, 12, 2, 12, 30))
    assert not lunch.is_open and lunch.next_open == ny(2026, 12, 2, 13, 0)
    assert describe_week(b.hours)[1] == "Wednesday: 8 AM to noon and 1 PM to 5 PM"


def test_never_open(make_business: Callable[[str], Business]) -> None:
    status = business_status(make_business("hours: {}"), ny(2026, 12, 1, 9, 0))
    assert not status.is_open and status.next_open is None
    assert "no opening" in describe_status(status)


def test_status_uses_own_closures(make_business: Callable[[str], Business]) -> None:
    b = make_business(
        "hours:\n  tuesday: {open: '09:00', close: '10:00'}\n"
        "  closures: [{date: 2026-12-01, until: 2026-12-08, name: Renovation}]\n"
    )
    status = hours_status(b.hours, b.tz, ny(2026, 12, 1, 9, 30))
    assert status.closure is not None and status.closure.name == "Renovation"
    assert status.next_open == ny(2026, 12, 15, 9, 0)
    assert describe_status(status) == (
        "Closed now (Renovation). Opens again Tuesday, December 15 at 9 AM."
    )


@pytest.mark.parametrize(
    ("minute", "spoken"),
    [(0, "midnight"), (8 * 60, "8 AM"), (12 * 60, "noon"), (17 * 60 + 30, "5:30 PM"),
     (12 * 60 + 5, "12:05 PM"), (30, "12:30 AM"), (24 * 60, "midnight")],
)  # fmt: skip
def test_spoken_time(minute: int, spoken: str) -> None:
    assert spoken_time(minute) == spoken
