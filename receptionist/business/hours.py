"""Opening hours in the business's own timezone: open now?, next opening, spoken descriptions.

Hours are wall-clock times in the business timezone. Each opening interval is
turned into real instants (UTC) before any comparison: on DST change days a
day is 23 or 25 hours long, and Python compares two datetimes sharing one
tzinfo by wall time, ignoring the fold, which is wrong during the repeated hour.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from receptionist.business.models import Business, Closure, Department, Span, WeeklyHours

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HORIZON_DAYS = 400  # how far to look for the next opening (long closures, seasonal hours)


@dataclass(frozen=True)
class Interval:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC


@dataclass(frozen=True)
class HoursStatus:
    now: datetime  # in the business timezone
    is_open: bool
    closes_at: datetime | None  # local; set when open
    next_open: datetime | None  # local; set when closed (None: no opening within a year)
    closure: Closure | None  # today's closure, if any
    today: tuple[Span, ...]  # today's regular spans (before any closure)


def _instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day + timedelta(days=minute // 1440), time(*divmod(minute % 1440, 60)))
    # A wall time inside a spring-forward gap does not exist; converting to UTC
    # moves it to the real instant after the gap. Ambiguous times take the first.
    return local.replace(tzinfo=tz).astimezone(UTC)


def _raw_intervals(
    hours: WeeklyHours, tz: ZoneInfo, first: date, closures: Sequence[Closure]
) -> Iterator[Interval]:
    day = first
    for _ in range(_HORIZON_DAYS):
        # A closure removes the intervals that *start* on its day (an overnight
        # shift from the evening before still runs into it).
        if not any(c.covers(day) for c in closures):
            for span in hours.day(day.weekday()):
                close = span.close_minute + (1440 if span.overnight else 0)
                yield Interval(_instant(day, span.open_minute, tz), _instant(day, close, tz))
        day += timedelta(days=1)


def intervals(
    hours: WeeklyHours, tz: ZoneInfo, first: date, closures: Sequence[Closure] = ()
) -> Iterator[Interval]:
    """Opening intervals from `first` on, in order, with touching intervals merged."""
    pending: Interval | None = None
    for interval in _raw_intervals(hours, tz, first, (*hours.closures, *closures)):
        if pending is not None and interval.start <= pending.end:
            pending = Interval(pending.start, max(pending.end, interval.end))
            continue
        if pending is not None:
            yield pending
        pending = interval
    if pending is not None:
        yield pending


def hours_status(
    hours: WeeklyHours, tz: ZoneInfo, now: datetime, closures: Sequence[Closure] = ()
) -> HoursStatus:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    instant = now.astimezone(UTC)
    local = now.astimezone(tz)
    today = local.date()
    all_closures = (*hours.closures, *closures)
    closure = next((c for c in all_closures if c.covers(today)), None)
    closes_at = next_open = None
    # Start a day early: yesterday's overnight interval may still be running.
    for interval in intervals(hours, tz, today - timedelta(days=1), closures):
        if interval.end <= instant:
            continue
        if interval.start <= instant:
            closes_at = interval.end.astimezone(tz)
        else:
            next_open = interval.start.astimezone(tz)
        break
    return HoursStatus(
        now=local,
        is_open=closes_at is not None,
        closes_at=closes_at,
        next_open=next_open,
        closure=closure,
        today=hours.day(today.weekday()),
    )


def business_status(business: Business, now: datetime) -> HoursStatus:
    return hours_status(business.hours, business.tz, now)


def department_status(business: Business, department: Department, now: datetime) -> HoursStatus:
    """A department keeps its own hours if it has them; business closures always apply."""
    if department.hours is None:
        return business_status(business, now)
    return hours_status(department.hours, business.tz, now, business.hours.closures)


def upcoming_closures(hours: WeeklyHours, today: date, days: int = 60) -> list[Closure]:
    end = today + timedelta(days=days)
    return sorted(
        (c for c in hours.closures if (c.until or c.date) >= today and c.date <= end),
        key=lambda c: c.date,
    )


# --- speech -----------------------------------------------------------------


def spoken_time(value: datetime | int) -> str:
    """8 AM, 5:30 PM, noon, midnight: how a receptionist says a time."""
    minute = value.hour * 60 + value.minute if isinstance(value, datetime) else value % 1440
    hour, mins = divmod(minute, 60)
    if minute == 0:
        return "midnight"
    if minute == 12 * 60:
        return "noon"
    suffix = "AM" if hour < 12 else "PM"
    hour12 = hour % 12 or 12
    return f"{hour12} {suffix}" if mins == 0 else f"{hour12}:{mins:02d} {suffix}"


def spoken_day(moment: datetime, now: datetime) -> str:
    delta = (moment.date() - now.date()).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    name = DAY_NAMES[moment.weekday()]
    return name if delta < 7 else f"{name}, {moment:%B} {moment.day}"


def spoken_date(day: date) -> str:
    return f"{DAY_NAMES[day.weekday()]}, {day:%B} {day.day}"


def describe_closure(closure: Closure) -> str:
    when = spoken_date(closure.date)
    if closure.until and closure.until != closure.date:
        when += f" through {spoken_date(closure.until)}"
    return f"{when}: {closure.name}"


def describe_spans(spans: Sequence[Span]) -> str:
    if not spans:
        return "closed"
    parts = []
    for span in spans:
        text = f"{spoken_time(span.open_minute)} to {spoken_time(span.close_minute)}"
        if span.overnight and span.close_minute != 0:
            text += " the next morning"
        parts.append(text)
    return " and ".join(parts)


def day_runs(hours: WeeklyHours) -> list[tuple[int, int]]:
    """Runs of consecutive days (Monday = 0) with the same hours, as (first, last)."""
    runs: list[tuple[int, int]] = []
    start = 0
    for index in range(1, 8):
        if index < 7 and hours.day(index) == hours.day(start):
            continue
        runs.append((start, index - 1))
        start = index
    return runs


def describe_week(hours: WeeklyHours) -> list[str]:
    """One line per run of days with the same hours: "Monday to Thursday: 8 AM to 5 PM"."""
    lines: list[str] = []
    for start, end in day_runs(hours):
        first, last = DAY_NAMES[start], DAY_NAMES[end]
        if end == start:
            days = first
        elif end == start + 1:
            days = f"{first} and {last}"
        else:
            days = f"{first} to {last}"
        lines.append(f"{days}: {describe_spans(hours.day(start))}")
    return lines


def describe_status(status: HoursStatus) -> str:
    """A sentence the model can say: open until when, or closed and when it reopens."""
    if status.is_open and status.closes_at is not None:
        closes = status.closes_at
        tomorrow = status.now.date() + timedelta(days=1)
        if (closes.hour, closes.minute) == (0, 0) and closes.date() == tomorrow:
            return "Open now, until midnight tonight."
        return f"Open now, until {spoken_time(closes)} {spoken_day(closes, status.now)}."
    reason = f" ({status.closure.name})" if status.closure else ""
    if status.next_open is None:
        return f"Closed now{reason}, with no opening scheduled in the coming year."
    when = f"{spoken_day(status.next_open, status.now)} at {spoken_time(status.next_open)}"
    return f"Closed now{reason}. Opens again {when}."
