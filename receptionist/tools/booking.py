"""Booking on one call: offer free slots, then book only an offered one, safely.

Safety, in layers: a slot must have been offered on this call by check_availability;
bookings of one calendar take turns (an asyncio lock per calendar id in this process);
the slot is held in SQLite under a unique index (other processes); and free/busy is
asked again inside the lock, right before the event is created (people booking by
hand). The loser of a race hears "that time was just taken" with the other free times.

No half bookings: the booking row (with an event id of our own) is written before the
insert is sent; it becomes 'booked' (and the business is notified) and the caller's
invitation goes out only once the result reached the conversation (`settle(told=True)`):
the event is created with nobody invited. A booking the caller will not hear about
(the call ended, or the calendar answered after we stopped waiting) is deleted from the
calendar and its row removed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from receptionist.business.languages import codes_of, primary_code
from receptionist.business.models import Business
from receptionist.business.speech import say_date, say_time
from receptionist.core.logs import log
from receptionist.store.bookings import confirm_booking, hold_slot, release_hold, stale_events
from receptionist.store.protocols import CallWriter
from receptionist.tools.calendar import UNREACHABLE, CalendarClient, CalendarError, new_event_id
from receptionist.tools.dates import DateNotUnderstood, parse_day, parse_start

logger = logging.getLogger(__name__)

SPOKEN_SLOTS = 8  # more times than this is too much to say on the phone
# The longest a caller waits for a booking: a hold, a free/busy check and an insert, each
# within calendar.HTTP_TIMEOUT_S, and shorter than the turn's tool wait (TurnLimits), so a
# slow calendar is heard as "cannot be reached", never as the fallback.
BOOKING_WAIT_S = 7.0
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
    hold: int = 0  # its row in `bookings`
    email: str | None = None  # whom to invite once the caller was told


@dataclass(frozen=True)
class Caller:
    """What the caller said about themselves: unverified, and said so in the event."""

    name: str
    number: str
    email: str | None = None
    reason: str = ""


@dataclass
class _Attempt:
    event_id: str  # ours, chosen before the insert and written in the row first
    start: datetime
    end: datetime
    caller: Caller
    sent: bool = False  # the insert went out: the event may exist whatever the reply
    abandoned: bool = False  # nobody waits for it any more


class BookingDesk:
    """One call's booking: what was offered, and booking one of those times."""

    def __init__(self, business: Business, store: CallWriter, call_id: str) -> None:
        self.business = business
        self.store = store
        self.call_id = call_id
        self.client = CalendarClient(business)
        self.language = primary_code(business.languages)
        self.offered: set[datetime] = set()  # UTC instants check_availability listed
        self._work: set[asyncio.Task[Any]] = set()  # calendar work that outlives its tool call

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
        """Book `start_text` for the caller if it was offered and is still free.

        The calendar work runs as its own task: a call that ends (or a calendar too slow
        to wait for) never cuts it off between the insert and the booking row. Whatever it
        made for a caller who will not hear about it is undone (`_abandon`)."""
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
        attempt = _Attempt(new_event_id(), start, end, caller)
        task = asyncio.create_task(self._book(attempt, now), name=f"booking:{self.call_id}")
        self._keep(task)
        try:
            booking = await asyncio.wait_for(asyncio.shield(task), BOOKING_WAIT_S)
        except TimeoutError:
            log(logger, logging.ERROR, "booking too slow: given up", event_id=attempt.event_id)
            self._abandon(attempt, task)
            raise CalendarError(UNREACHABLE) from None
        except asyncio.CancelledError:
            self._abandon(attempt, task)  # the call ended: nobody will hear of it
            raise
        self.offered.discard(start.astimezone(UTC))
        return booking

    def settle(self, booking: Booking, told: bool) -> None:
        """The booking's result reached the caller's conversation (`told`), or could not:
        only a booking the caller was told about stands, and only it sends an invitation."""
        if told:
            self._keep(asyncio.create_task(self._confirm_and_invite(booking)))
        else:
            log(logger, logging.WARNING, "booking not heard by the caller: cancelling it",
                event_id=booking.event_id)  # fmt: skip
            self._keep(asyncio.create_task(self._undo(booking.event_id, booking.hold)))

    async def drain(self) -> None:
        """Wait for the calendar work still running (bookkeeping, invitations, undos)."""
        while self._work:
            await asyncio.gather(*self._work, return_exceptions=True)

    async def _book(self, attempt: _Attempt, now: datetime) -> Booking:
        start, end, caller = attempt.start, attempt.end, attempt.caller
        async with calendar_lock(self.client.settings.calendar_id):
            if attempt.abandoned:
                raise CalendarError(UNREACHABLE)  # given up on while waiting its turn
            await self._clear_stale(start)
            hold = await self._hold(attempt)
            if hold is None:
                raise await self._taken(start, now)
            try:
                # Asked again inside the lock: someone may have booked by hand since.
                slots = await self.client.free_slots(start.date(), now)
                if start not in slots:
                    raise self._taken_error(start, slots)
                if attempt.abandoned:
                    raise CalendarError(UNREACHABLE)  # never send an insert nobody waits for
                attempt.sent = True
                await self.client.insert_event(
                    attempt.event_id, start, end, summary=f"Appointment: {caller.name}",
                    description=self._description(caller),
                )  # fmt: skip
            except CalendarError:
                # The insert may have landed even so (a reply lost to a timeout).
                await self._undo(attempt.event_id if attempt.sent else None, hold)
                raise
        return Booking(attempt.event_id, start, end, hold, caller.email)

    def _abandon(self, attempt: _Attempt, task: asyncio.Task[Booking]) -> None:
        """Nobody will be told of this attempt: once it is done, undo what it made."""
        attempt.abandoned = True

        def done(task: asyncio.Task[Booking]) -> None:
            if not task.cancelled() and task.exception() is None:
                self.settle(task.result(), told=False)

        task.add_done_callback(done)

    async def _undo(self, event_id: str | None, hold: int) -> None:
        """Delete the event (if one was sent) and free the slot. If the calendar cannot be
        reached the row stays, holding the event id: an event is never left unrecorded."""
        if event_id is not None:
            try:
                await self.client.delete_event(event_id)
            except CalendarError as error:
                log(logger, logging.ERROR, "booking not undone: the row keeps its event id",
                    event_id=event_id, error=error.detail)  # fmt: skip
                return
        try:
            await self.store.run(release_hold, hold)
        except sqlite3.Error as error:
            log(logger, logging.ERROR, "booking hold not released", hold=hold, error=error)

    async def _confirm_and_invite(self, booking: Booking) -> None:
        await self._confirm(booking.hold, booking.event_id)
        if not (booking.email and self._invite_callers()):
            return
        try:
            await self.client.invite(booking.event_id, [booking.email])
        except CalendarError as error:
            # The booking stands; only the emailed invitation is missing.
            log(logger, logging.ERROR, "booking invitation not sent", event_id=booking.event_id,
                error=error.detail)  # fmt: skip

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _clear_stale(self, start: datetime) -> None:
        """A stale hold's event goes before its row does (raises if it cannot)."""
        calendar_id = self.client.settings.calendar_id
        try:
            stale = await self.store.run(stale_events, calendar_id=calendar_id, start=start)
        except sqlite3.Error as error:
            log(logger, logging.ERROR, "stale holds not checked", error=error)
            raise CalendarError(_SYSTEM_ERROR) from None
        for event_id in stale:
            log(logger, logging.WARNING, "deleting a stale hold's event", event_id=event_id)
            await self.client.delete_event(event_id)

    async def _hold(self, attempt: _Attempt) -> int | None:
        caller = attempt.caller
        try:
            return await self.store.run(
                hold_slot, calendar_id=self.client.settings.calendar_id, call_id=self.call_id,
                business=self.business.slug, caller_name=caller.name,
                callback_number=caller.number, caller_email=caller.email, start=attempt.start,
                end=attempt.end, event_id=attempt.event_id,
            )  # fmt: skip
        except sqlite3.Error as error:
            # Without the guard two calls could both book: refuse rather than risk it.
            log(logger, logging.ERROR, "booking hold failed", error=error)
            raise CalendarError(_SYSTEM_ERROR) from None

    async def _confirm(self, hold: int, event_id: str) -> None:
        try:
            await self.store.run(confirm_booking, hold, event_id)
        except sqlite3.Error as error:
            # The held row already names the event: the booking is not lost with this.
            log(logger, logging.ERROR, "booking not confirmed", event_id=event_id, error=error)

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

    def _invite_callers(self) -> bool:
        return self.client.settings.invite_callers

    def _languages(self) -> tuple[str, ...]:
        return codes_of(self.business.languages)
