"""Booking on one call: offer free slots, then book only an offered one, safely.

Safety, in layers: a slot must have been offered on this call by check_availability;
bookings of one calendar take turns (an asyncio lock per calendar id in this process);
the slot is held in SQLite under a unique index (other processes); and free/busy is
asked again inside the lock, right before the event is created (people booking by
hand). The loser of a race hears "that time was just taken" with the other free times.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from receptionist.business.languages import codes_of, primary_code
from receptionist.business.models import Business
from receptionist.business.speech import say_date, say_time
from receptionist.core.logs import log
from receptionist.store.bookings import confirm_booking, hold_slot, release_hold
from receptionist.store.protocols import CallWriter
from receptionist.tools.calendar import CalendarClient, CalendarError
from receptionist.tools.dates import DateNotUnderstood, parse_day, parse_start

logger = logging.getLogger(__name__)

SPOKEN_SLOTS = 8  # more times than this is too much to say on the phone
_SYSTEM_ERROR = "not booked: a system error. Apologise and offer to take a message."

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def calendar_lock(calendar_id: str) -> asyncio.Lock:
    """The lock every booking of `calendar_id` takes (one set per event loop)."""
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(calendar_id, asyncio.Lock())


@dataclass(frozen=True)
class Booking:
    event_id: str
    start: datetime  # in the business timezone
    end: datetime


@dataclass(frozen=True)
class Caller:
    """What the caller said about themselves: unverified, and said so in the event."""

    name: str
    number: str
    email: str | None = None
    reason: str = ""


class BookingDesk:
    """One call's booking: what was offered, and booking one of those times."""

    def __init__(self, business: Business, store: CallWriter, call_id: str) -> None:
        self.business = business
        self.store = store
        self.call_id = call_id
        self.client = CalendarClient(business)
        self.language = primary_code(business.languages)
        self.offered: set[datetime] = set()  # UTC instants check_availability listed

    def _today(self, now: datetime) -> date:
        return now.astimezone(self.business.tz).date()

    async def availability(self, day_text: str, now: datetime) -> str:
        """A speakable list of the free times on a day; they become bookable on this call."""
        try:
            day = parse_day(day_text, self._today(now), self._languages())
        except DateNotUnderstood as error:
            raise CalendarError(str(error)) from None
        self.client.check_window(day, now)
        slots = await self.client.free_slots(day, now)
        self._offer(slots)
        when = say_date(day, self.language)
        if not slots:
            return f"No free appointment times on {when}. Offer to check another day."
        more = len(slots) - SPOKEN_SLOTS
        later = f", and {more} later times" if more > 0 else ""
        return (
            f"Free on {when}: {self._times(slots)}{later}. "
            f"Appointments are {self.client.settings.appointment_minutes} minutes. "
            f"To book, use the date {day.isoformat()} with the time, e.g. "
            f"{day.isoformat()}T{slots[0]:%H:%M}."
        )

    async def book(self, start_text: str, now: datetime, caller: Caller) -> Booking:
        """Book `start_text` for the caller if it was offered and is still free."""
        tz = self.business.tz
        try:
            start = parse_start(start_text, tz, self._today(now), self._languages())
        except DateNotUnderstood as error:
            raise CalendarError(str(error)) from None
        self.client.check_window(start.date(), now)
        when = f"{say_time(start, self.language)}, {say_date(start.date(), self.language)}"
        if start.astimezone(UTC) not in self.offered:
            raise CalendarError(
                f"not booked: {when} was not offered on this call. Call check_availability "
                "for that day and offer only the times it lists."
            )
        end = (start.astimezone(UTC) + self._length()).astimezone(tz)
        async with calendar_lock(self.client.settings.calendar_id):
            hold = await self._hold(start, end, caller)
            if hold is None:
                raise await self._taken(start, now)
            confirmed = False
            try:
                # Asked again inside the lock: someone may have booked by hand since.
                slots = await self.client.free_slots(start.date(), now)
                if start not in slots:
                    raise self._taken_error(start, slots)
                event_id = await self.client.insert_event(
                    start, end, summary=f"Appointment: {caller.name}",
                    description=self._description(caller),
                    attendees=[caller.email] if caller.email and self._invite() else (),
                )  # fmt: skip
                confirmed = True  # the calendar has it: that is the booking
                await self._confirm(hold, event_id)
            finally:
                if not confirmed:
                    await self.store.run(release_hold, hold)
        self.offered.discard(start.astimezone(UTC))
        return Booking(event_id, start, end)

    async def _hold(self, start: datetime, end: datetime, caller: Caller) -> int | None:
        try:
            return await self.store.run(
                hold_slot, calendar_id=self.client.settings.calendar_id, call_id=self.call_id,
                business=self.business.slug, caller_name=caller.name,
                callback_number=caller.number, caller_email=caller.email, start=start, end=end,
            )  # fmt: skip
        except sqlite3.Error as error:
            # Without the guard two calls could both book: refuse rather than risk it.
            log(logger, logging.ERROR, "booking hold failed", error=error)
            raise CalendarError(_SYSTEM_ERROR) from None

    async def _confirm(self, hold: int, event_id: str) -> None:
        try:
            await self.store.run(confirm_booking, hold, event_id)
        except sqlite3.Error as error:
            # A missing row must not undo the yes; the stale hold is replaced in time.
            log(logger, logging.ERROR, "booking not recorded", event_id=event_id, error=error)

    async def _taken(self, start: datetime, now: datetime) -> CalendarError:
        return self._taken_error(start, await self.client.free_slots(start.date(), now))

    def _taken_error(self, start: datetime, slots: list[datetime]) -> CalendarError:
        others = [slot for slot in slots if slot != start]
        self.offered.discard(start.astimezone(UTC))
        self._offer(others)
        log(logger, logging.INFO, "booking lost a race", business=self.business.slug,
            start=start.isoformat())  # fmt: skip
        offer = (
            f"Other free times that day: {self._times(others)}. Offer these."
            if others
            else "Nothing else is free that day; offer to check another day."
        )
        return CalendarError(f"not booked: that time was just taken by another caller. {offer}")

    def _description(self, caller: Caller) -> str:
        lines = [f"Callback number: {caller.number}"]
        if caller.email:
            lines.append(f"Email: {caller.email}")
        if caller.reason:
            lines.append(f"Reason: {caller.reason}")
        lines += [
            "Caller identity not verified: the name, number and email are as the caller "
            "gave them on the phone.",
            f"Booked by the phone receptionist (call {self.call_id}).",
        ]
        return "\n".join(lines)

    def _offer(self, slots: list[datetime]) -> None:
        self.offered.update(slot.astimezone(UTC) for slot in slots)

    def _times(self, slots: list[datetime]) -> str:
        return ", ".join(say_time(slot, self.language) for slot in slots[:SPOKEN_SLOTS])

    def _length(self) -> timedelta:
        return timedelta(minutes=self.client.settings.appointment_minutes)

    def _invite(self) -> bool:
        return self.client.settings.invite_callers

    def _languages(self) -> tuple[str, ...]:
        return codes_of(self.business.languages)
