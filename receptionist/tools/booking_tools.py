"""The booking tools (check_availability, book_appointment), mixed into CallTools."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import Field

from receptionist.business.models import Business
from receptionist.business.phone import PhoneNumber
from receptionist.business.speech import say_date, say_time
from receptionist.core.outcomes import Outcome
from receptionist.store.protocols import CallWriter
from receptionist.tools.booking import BookingDesk, Caller
from receptionist.tools.spec import NAME_MAX, REASON_MAX, ToolError, ToolOutcome, cap, tool

logger = logging.getLogger("receptionist.tools.call_tools")

EMAIL_MAX = 254  # the longest address SMTP allows
CALENDAR_TOOLS = frozenset({"check_availability", "book_appointment"})


class BookingTools:
    """Needs, from the class it is mixed into: these attributes and `_callback_number`."""

    business: Business
    store: CallWriter
    call_id: str
    _clock: Callable[[], datetime]
    _booking: BookingDesk | None
    _callback_number: Callable[[str, str, str], PhoneNumber]

    @tool
    async def check_availability(
        self,
        date: Annotated[
            str,
            Field(
                description="The day: YYYY-MM-DD, or English words such as 'today', 'tomorrow', "
                "'next Monday', 'the 14th' or 'in two weeks' (translate the caller's words)."
            ),
        ],
    ) -> str:
        """Free appointment times on one day. Use it before offering or booking any time."""
        assert self._booking is not None  # only listed when the business has a calendar
        return await self._booking.availability(date, self._clock())

    @tool
    async def book_appointment(
        self,
        caller_name: Annotated[str, Field(min_length=1, description="The caller's name.")],
        callback_number: Annotated[
            str,
            Field(
                description="The caller's phone number, as confirmed digit by digit. "
                "Empty string: use the number they are calling from."
            ),
        ],
        start: Annotated[
            str,
            Field(description="The start, a free time from check_availability: YYYY-MM-DDTHH:MM."),
        ],
        reason: Annotated[str, Field(description="What the appointment is for.")] = "",
        caller_email: Annotated[
            str,
            Field(description="The caller's email, spelled back and confirmed; empty if none."),
        ] = "",
    ) -> ToolOutcome:
        """Book an appointment at a free time, after the caller confirmed the day and time.
        Only tell the caller it is booked after this succeeds."""
        assert self._booking is not None
        name = cap(caller_name, NAME_MAX, "caller_name", "book_appointment")
        why = cap(reason, REASON_MAX, "reason", "book_appointment")
        email = _email(cap(caller_email, EMAIL_MAX, "caller_email", "book_appointment"))
        number = self._callback_number(callback_number, "book_appointment", "not booked")
        caller = Caller(name, str(number), email, why)
        booking = await self._booking.book(start, self._clock(), caller)
        language = self._booking.language
        return ToolOutcome(
            f"Booked {name} on {say_date(booking.start.date(), language)} at "
            f"{say_time(booking.start, language)}. Read the day and time back to the caller.",
            outcome=Outcome.APPOINTMENT_BOOKED,
            settle=functools.partial(self._booking.settle, booking),
        )


def _email(text: str) -> str | None:
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ToolError(
            f"not booked: the email address is not valid ({error}). Spell it back and ask again, "
            "or book without it."
        ) from None
