"""Appointment booking in Google Calendar: free slots inside opening hours, and booking one.

The Google client is synchronous (httplib2): each request runs in a worker thread, one at a
time per client, as an httplib2 connection is not thread-safe. Every failure becomes a
CalendarError the model can say; the logs get the detail, never the credentials.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import google_auth_httplib2
import httplib2
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from receptionist.business.hours import Interval, intervals, spoken_date
from receptionist.business.models import Business, Calendar
from receptionist.core.logs import log

logger = logging.getLogger(__name__)

R = TypeVar("R")

SCOPES = ("https://www.googleapis.com/auth/calendar",)
# The caller waits on the line: each request gives up after this, well inside the
# booking's own wait (booking.BOOKING_WAIT_S) and the turn's tool wait (TurnLimits).
HTTP_TIMEOUT_S = 3.0
SPOKEN_SLOTS = 8  # more times than this is too much to say on the phone
_SERVICE_PATH = "calendar/v3/"  # the discovery document's servicePath
_TAKE_MESSAGE = "Apologise and offer to take a message so the team can call back to book."
_NOT_SET_UP = f"the booking calendar is not set up correctly, so I cannot book. {_TAKE_MESSAGE}"
UNREACHABLE = f"the booking calendar cannot be reached right now. {_TAKE_MESSAGE}"


class CalendarError(Exception):
    """Booking or checking failed; str(error) is a reason the model can say, `detail` one
    for the admin (`config check --online`), free of secrets."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


def settings_of(business: Business) -> Calendar:
    if business.calendar is None:
        raise CalendarError("this business does not book appointments by phone")
    return business.calendar


def free_slots(
    business: Business, day: date, now: datetime, busy: Sequence[Interval]
) -> list[datetime]:
    """Appointment start times (business-local) on `day`: inside opening hours, after `now`,
    inside the booking window, overlapping no busy interval."""
    settings = settings_of(business)
    tz = business.tz
    today = now.astimezone(tz).date()
    if not today <= day <= today + timedelta(days=settings.booking_days_ahead):
        return []
    length = timedelta(minutes=settings.appointment_minutes)
    slots: list[datetime] = []
    for opening in intervals(business.hours, tz, day):
        if opening.start.astimezone(tz).date() != day:
            break
        # UTC arithmetic, so a DST change inside opening hours gives real-length slots.
        start = opening.start
        while start + length <= opening.end:
            end = start + length
            if start > now and not any(b.start < end and start < b.end for b in busy):
                slots.append(start.astimezone(tz))
            start = end
    return slots


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"calendar time without an offset: {text}")
    return moment.astimezone(UTC)


class CalendarClient:
    """One business's booking calendar, for one call. Credentials are read on first use,
    not at start-up, so a bad key file costs one failed booking, not the whole service."""

    def __init__(self, business: Business) -> None:
        self.business = business
        self.settings = settings_of(business)
        self._service: Any = None
        # Our own http object: httplib2's default timeout is a minute.
        self._transport = httplib2.Http(timeout=HTTP_TIMEOUT_S)
        self._lock = asyncio.Lock()

    async def free_slots(self, day: date, now: datetime) -> list[datetime]:
        tz = self.business.tz
        # Two days: an overnight opening that starts on `day` ends on the next one.
        start = datetime.combine(day, time(), tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=2), time(), tz).astimezone(UTC)
        busy = await self._run(self._query_busy, start, end)
        return free_slots(self.business, day, now, busy)

    async def insert_event(
        self, event_id: str, start: datetime, end: datetime, *, summary: str, description: str
    ) -> None:
        """Create the appointment event under our own `event_id` (see new_event_id), with
        nobody invited and no email sent: the invitation waits until the caller was told
        (`invite`)."""
        zone = self.business.business.timezone
        body: dict[str, Any] = {
            "id": event_id,
            "summary": summary,
            "description": description,
            "start": {"dateTime": start.isoformat(), "timeZone": zone},
            "end": {"dateTime": end.isoformat(), "timeZone": zone},
        }
        await self._run(self._insert, body)

    async def invite(self, event_id: str, attendees: Sequence[str]) -> None:
        """Add the attendees to the event; Google emails each an invitation."""
        body = {"attendees": [{"email": email} for email in attendees]}
        await self._run(self._patch, event_id, body)

    async def delete_event(self, event_id: str) -> None:
        """Remove the event without telling anyone; an event that is not there is fine."""
        await self._run(self._delete, event_id)

    async def reach(self) -> None:
        """One free/busy query for today: proves the key, the sharing and the network."""
        now = datetime.now(UTC)
        await self._run(self._query_busy, now, now + timedelta(hours=1))

    def check_window(self, day: date, now: datetime) -> None:
        today = now.astimezone(self.business.tz).date()
        last = today + timedelta(days=self.settings.booking_days_ahead)
        if day < today:
            raise CalendarError(f"{spoken_date(day)} is in the past; today is {spoken_date(today)}")
        if day > last:
            raise CalendarError(f"I can only book up to {spoken_date(last)}, {last.year}")

    async def _run(self, func: Callable[..., R], *args: Any) -> R:
        async with self._lock:
            try:
                return await asyncio.to_thread(self._request, func, *args)
            except HttpError as error:
                status = error.resp.status
                log(logger, logging.ERROR, "calendar request failed", business=self.business.slug,
                    status=status, reason=error.reason)  # fmt: skip
                # A 4xx means the setup is wrong (calendar id, sharing), not the network.
                detail = f"the calendar API answered HTTP {status} ({error.reason})"
                raise CalendarError(_NOT_SET_UP if status < 500 else UNREACHABLE, detail) from None
            except RefreshError as error:
                # The token endpoint refused the key; its reply holds no secrets.
                log(logger, logging.ERROR, "calendar token refused", business=self.business.slug,
                    error=str(error)[:200])  # fmt: skip
                detail = f"the token endpoint refused the key: {str(error)[:200]}"
                raise CalendarError(_NOT_SET_UP, detail) from None
            except (GoogleAuthError, httplib2.HttpLib2Error, OSError, ValueError, KeyError,
                    TypeError) as error:  # fmt: skip
                # Network failures, or a reply that is not what the API documents.
                log(logger, logging.ERROR, "calendar unreachable", business=self.business.slug,
                    error=f"{type(error).__name__}: {str(error)[:200]}")  # fmt: skip
                detail = f"unreachable: {type(error).__name__}: {str(error)[:200]}"
                raise CalendarError(UNREACHABLE, detail) from None

    def _request(self, func: Callable[..., R], *args: Any) -> R:
        try:
            return func(*args)
        except (httplib2.HttpLib2Error, OSError):
            # A connection whose request timed out still owes that reply: httplib2 would
            # read it as the answer to the next request. Start afresh.
            for connection in self._transport.connections.values():
                connection.close()
            self._transport.connections.clear()
            raise

    def _api(self) -> Any:
        """The Calendar API client, built on first use (in the worker thread)."""
        if self._service is None:
            path = self.settings.credentials_file
            try:
                credentials = service_account.Credentials.from_service_account_file(
                    path, scopes=SCOPES
                )
            except (OSError, ValueError, KeyError) as error:
                # The type only: a parse error's text could quote the key file.
                log(logger, logging.ERROR, "calendar credentials unusable", file=path,
                    error=type(error).__name__)  # fmt: skip
                raise CalendarError(_NOT_SET_UP) from None
            http = google_auth_httplib2.AuthorizedHttp(credentials, http=self._transport)
            endpoint = self.settings.api_endpoint
            options = {"api_endpoint": str(endpoint).rstrip("/") + "/" + _SERVICE_PATH}
            # Discovery comes from the document bundled with the library: no network.
            self._service = build(
                "calendar", "v3", http=http, client_options=options if endpoint else None,
                cache_discovery=False, static_discovery=True,
            )  # fmt: skip
        return self._service

    def _query_busy(self, start: datetime, end: datetime) -> list[Interval]:
        calendar_id = self.settings.calendar_id
        items = [{"id": calendar_id}]
        body = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "items": items}
        reply = self._api().freebusy().query(body=body).execute()
        entry = reply.get("calendars", {}).get(calendar_id, {})
        if entry.get("errors"):
            # e.g. notFound: the calendar is not shared with the service account.
            reasons = ",".join(str(e.get("reason")) for e in entry["errors"])
            log(logger, logging.ERROR, "calendar free/busy refused", business=self.business.slug,
                reasons=reasons)  # fmt: skip
            detail = f"free/busy refused for {calendar_id}: {reasons} (is it shared?)"
            raise CalendarError(_NOT_SET_UP, detail)
        return [Interval(_instant(b["start"]), _instant(b["end"])) for b in entry.get("busy", [])]

    def _insert(self, body: dict[str, Any]) -> None:
        events = self._api().events()
        events.insert(calendarId=self.settings.calendar_id, body=body, sendUpdates="none").execute()

    def _patch(self, event_id: str, body: dict[str, Any]) -> None:
        # sendUpdates=all: Google emails the invitation to the attendees just added.
        events = self._api().events()
        events.patch(
            calendarId=self.settings.calendar_id, eventId=event_id, body=body, sendUpdates="all"
        ).execute()

    def _delete(self, event_id: str) -> None:
        events = self._api().events()
        request = events.delete(
            calendarId=self.settings.calendar_id, eventId=event_id, sendUpdates="none"
        )
        try:
            request.execute()
        except HttpError as error:
            if error.resp.status not in (404, 410):  # 410: already deleted
                raise


def new_event_id() -> str:
    """An event id of our own (base32hex, as the Calendar API requires), known before the
    insert is sent: the booking row carries it, so an event never exists unrecorded."""
    return base64.b32hexencode(uuid.uuid4().bytes).decode().rstrip("=").lower()
