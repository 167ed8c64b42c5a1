"""Days and appointment starts from what the model passes: ISO dates or relative phrases.

Relative phrases ("next Monday", "the 14th", "in two weeks") are resolved by
dateparser against the business's local date, so "next Monday" means the
business's next Monday wherever the service runs. Times are then attached in the
business timezone with zoneinfo, which gives the right UTC offset on either side
of a DST change. Measured with dateparser 1.5: English relative phrases resolve
well; Spanish ones mostly do not ("el próximo lunes", "en dos semanas", "el 14"
give nothing), so the tools ask the model for English phrases or ISO dates and
the business's own languages are only a second try.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import dateparser

_ORDINAL_DAY = re.compile(r"^(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?$")
# "<day> at 10", "<day> at 10:30", "<day>T10:30": the time part of a start.
_AT_TIME = re.compile(r"^(?P<day>.+?)(?:\s+at\s+|T)(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?$")


class DateNotUnderstood(ValueError):
    """The text names no day we can resolve; str(error) says what to send instead."""


def parse_day(text: str, today: date, languages: Sequence[str] = ()) -> date:
    """The day `text` names, seen from `today` (business-local), never earlier than today
    for relative phrases: ISO (2026-12-01), "today", "next Monday", "the 14th", "in two weeks"."""
    words = " ".join(text.strip().split())
    try:
        return date.fromisoformat(words)
    except ValueError:
        pass
    ordinal = _ORDINAL_DAY.match(words.casefold())
    if ordinal:
        # dateparser puts a bare day of the month in the current month even once it has
        # passed (PREFER_DATES_FROM is not applied to it): the caller means the next one.
        return _next_day_of_month(int(ordinal.group(1)), today, text)
    base = datetime.combine(today, time(12))
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base,
                "RETURN_AS_TIMEZONE_AWARE": False}  # fmt: skip
    for langs in (["en"], [code for code in languages if code != "en"]):
        if not langs:
            continue
        found: datetime | None = dateparser.parse(words, languages=langs, settings=settings)
        if found is not None:
            return found.date()
    raise DateNotUnderstood(
        f"'{text}' is not a date I understand; use YYYY-MM-DD (today is {today.isoformat()}) "
        "or English words such as 'next Monday', 'the 14th' or 'in two weeks'"
    )


def _next_day_of_month(day: int, today: date, text: str) -> date:
    year, month = today.year, today.month
    for _ in range(13):  # a 31st can be up to two months away
        try:
            found = date(year, month, day)
        except ValueError:
            found = None
        if found is not None and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise DateNotUnderstood(f"'{text}' is not a day of the month")


def parse_start(text: str, tz: ZoneInfo, today: date, languages: Sequence[str] = ()) -> datetime:
    """A business-local start from "2026-12-01T09:30" or "<day words> at HH:MM" (24-hour)."""
    words = " ".join(text.strip().split())
    try:
        moment = datetime.fromisoformat(words)
    except ValueError:
        pass
    else:
        return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    parts = _AT_TIME.match(words)
    hour, minute = (int(parts["hour"]), int(parts["minute"] or 0)) if parts else (99, 0)
    if parts is None or hour > 23 or minute > 59:
        raise DateNotUnderstood(
            f"'{text}' is not a date and time I understand; use YYYY-MM-DDTHH:MM, "
            "a time from check_availability"
        )
    day = parse_day(parts["day"], today, languages)
    # zoneinfo picks the offset of that wall time on that day: DST-safe.
    return datetime.combine(day, time(hour, minute), tz)
