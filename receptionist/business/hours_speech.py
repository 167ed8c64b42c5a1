"""Opening hours said in the call's language: the sentences get_business_hours returns.

English keeps hours.py's house style ("Closed now. Opens again tomorrow at 7:30 AM.").
A language with its own phrases here (Spanish, which the shipped prompts speak too) is
said whole in it, day and month names from Babel's CLDR data. Any other language gets
the English sentences, which the model translates (its prompt says so), as it gets the
English prompts from Asterisk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from babel.dates import format_date, format_time

from receptionist.business.hours import (
    HoursStatus,
    day_runs,
    describe_closure,
    describe_spans,
    describe_status,
    describe_week,
)
from receptionist.business.models import Closure, Span, WeeklyHours
from receptionist.business.speech import say_date, say_time

SPANISH = {
    "today": "hoy",
    "tomorrow": "mañana",
    "on_day": "el {day}",
    "closed": "cerrado",
    "span": "de {open} a {close}",
    "next_morning": " del día siguiente",
    "and": " y ",
    "days_range": "{first} a {last}",
    "days_pair": "{first} y {last}",
    "through": "{first} hasta el {last}",
    "open_until": "Abierto ahora, hasta las {time} {day}.",
    "open_midnight": "Abierto ahora, hasta la medianoche.",
    "closed_none": "Cerrado ahora{reason}, sin ninguna apertura prevista en el próximo año.",
    "closed_next": "Cerrado ahora{reason}. Vuelve a abrir {day} a las {time}.",
    "it_is": "Hoy es {date}; en la oficina son las {time}.",
    "today_hours": "Horario de hoy: {spans}.",
    "weekly": "Horario semanal: {lines}.",
    "closures": "Cierres: {closures}.",
    "after_hours": "Fuera de horario: {text}",
}
PHRASES = {"es": SPANISH}


def has_phrases(language: str) -> bool:
    return language in PHRASES


def _time(minute: int, language: str) -> str:
    hour, mins = divmod(minute % 1440, 60)
    return format_time(datetime(2000, 1, 1, hour, mins), "short", locale=language)


def _weekday(day: date, language: str) -> str:
    return format_date(day, "EEEE", locale=language)


def _day(moment: datetime, now: datetime, words: dict[str, str], language: str) -> str:
    delta = (moment.date() - now.date()).days
    if delta == 0:
        return words["today"]
    if delta == 1:
        return words["tomorrow"]
    name = _weekday(moment.date(), language)
    if delta >= 7:
        name = format_date(moment.date(), "EEEE d 'de' MMMM", locale=language)
    return words["on_day"].format(day=name)


def status_sentence(status: HoursStatus, language: str) -> str:
    """Open until when, or closed and when it reopens."""
    words = PHRASES.get(language)
    if words is None:
        return describe_status(status)
    if status.is_open and status.closes_at is not None:
        closes = status.closes_at
        tomorrow = status.now.date() + timedelta(days=1)
        if (closes.hour, closes.minute) == (0, 0) and closes.date() == tomorrow:
            return words["open_midnight"]
        minute = closes.hour * 60 + closes.minute
        day = _day(closes, status.now, words, language)
        return words["open_until"].format(time=_time(minute, language), day=day)
    reason = f" ({status.closure.name})" if status.closure else ""
    if status.next_open is None:
        return words["closed_none"].format(reason=reason)
    opens = status.next_open
    return words["closed_next"].format(
        reason=reason,
        day=_day(opens, status.now, words, language),
        time=_time(opens.hour * 60 + opens.minute, language),
    )


def spans_text(spans: Sequence[Span], language: str) -> str:
    words = PHRASES.get(language)
    if words is None:
        return describe_spans(spans)
    if not spans:
        return words["closed"]
    parts = []
    for span in spans:
        text = words["span"].format(open=_time(span.open_minute, language),
                                    close=_time(span.close_minute, language))  # fmt: skip
        if span.overnight and span.close_minute != 0:
            text += words["next_morning"]
        parts.append(text)
    return words["and"].join(parts)


def week_lines(hours: WeeklyHours, language: str) -> list[str]:
    """One line per run of days with the same hours."""
    words = PHRASES.get(language)
    if words is None:
        return describe_week(hours)
    monday = date(2026, 1, 5)  # any Monday: only the weekday names are used
    names = [_weekday(monday + timedelta(days=n), language) for n in range(7)]
    lines: list[str] = []
    for start, end in day_runs(hours):
        first, last = names[start], names[end]
        if end == start:
            days = first
        elif end == start + 1:
            days = words["days_pair"].format(first=first, last=last)
        else:
            days = words["days_range"].format(first=first, last=last)
        lines.append(f"{days}: {spans_text(hours.day(start), language)}")
    return lines


def closure_text(closure: Closure, language: str) -> str:
    words = PHRASES.get(language)
    if words is None:
        return describe_closure(closure)
    when = say_date(closure.date, language)
    if closure.until and closure.until != closure.date:
        when = words["through"].format(first=when, last=say_date(closure.until, language))
    return f"{when}: {closure.name}"


def hours_answer(
    label: str,
    status: HoursStatus,
    hours: WeeklyHours,
    closures: Sequence[Closure],
    after_hours: str | None,
    language: str,
) -> str:
    """get_business_hours' whole answer: now, open or not, today, the week, closures."""
    words = PHRASES.get(language)
    local = status.now
    today = spans_text(status.today, language) if not status.closure else None
    if words is None:
        parts = [
            f"It is {say_date(local.date(), language)}, {say_time(local, language)} at the office.",
            f"{label}: {describe_status(status)}",
            f"Today's regular hours: {today or 'closed'}.",
            "Weekly hours: " + "; ".join(describe_week(hours)) + ".",
        ]
        if closures:
            parts.append("Closures: " + "; ".join(map(describe_closure, closures)) + ".")
        if after_hours:
            parts.append(f"After hours: {after_hours}")
        return " ".join(parts)
    now_text = words["it_is"].format(
        date=say_date(local.date(), language), time=say_time(local, language)
    )
    parts = [
        now_text,
        f"{label}: {status_sentence(status, language)}",
        words["today_hours"].format(spans=today or words["closed"]),
        words["weekly"].format(lines="; ".join(week_lines(hours, language))),
    ]
    if closures:
        text = "; ".join(closure_text(closure, language) for closure in closures)
        parts.append(words["closures"].format(closures=text))
    if after_hours:
        parts.append(words["after_hours"].format(text=after_hours))
    return " ".join(parts)
