"""Dates and times as a receptionist says them, in the call's language.

English keeps the house style of hours.py ("Tuesday, December 1", "8 AM", "noon");
other languages use Babel's CLDR formats ("martes, 1 de diciembre de 2026", "8:00").
"""

from __future__ import annotations

from datetime import date, datetime

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from receptionist.business.hours import spoken_date, spoken_time


def _locale(language: str) -> Locale | None:
    if language == "en":
        return None
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return None


def say_date(day: date, language: str = "en") -> str:
    locale = _locale(language)
    return spoken_date(day) if locale is None else format_date(day, "full", locale=locale)


def say_time(moment: datetime, language: str = "en") -> str:
    locale = _locale(language)
    return spoken_time(moment) if locale is None else format_time(moment, "short", locale=locale)
