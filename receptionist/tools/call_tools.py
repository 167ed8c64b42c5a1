"""The model's tools: typed async methods whose JSON schemas come from their signatures.

`CallTools.call(name, arguments)` never raises for anything the model can get
wrong (unknown tool, bad JSON, bad arguments, a rejected phone number): the
model gets a short error it can act on. Transfers and hangups are only
requested here (ToolOutcome.action); the live-call layer carries them out.
Every call is written to the store with its arguments, result and duration.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from receptionist.business.faq import FAQIndex
from receptionist.business.hours import business_status, department_status, upcoming_closures
from receptionist.business.hours_speech import hours_answer, status_sentence
from receptionist.business.languages import codes_of, primary_code
from receptionist.business.models import Business, Department
from receptionist.business.phone import InvalidPhoneNumber, PhoneNumber, normalize_phone
from receptionist.business.routing import find_department
from receptionist.core.counters import COUNTERS
from receptionist.core.logs import log
from receptionist.core.outcomes import Outcome
from receptionist.store.protocols import CallWriter
from receptionist.tools.booking import BookingDesk
from receptionist.tools.booking_tools import CALENDAR_TOOLS, BookingTools
from receptionist.tools.calendar import CalendarError
from receptionist.tools.spec import (
    NAME_MAX,
    NUMBER_MAX,
    QUESTION_MAX,
    HangupRequest,
    ToolError,
    ToolOutcome,
    TransferRequest,
    cap,
    tool,
)

__all__ = ["CallTools", "HangupRequest", "ToolError", "ToolOutcome", "TransferRequest", "tool"]

logger = logging.getLogger(__name__)

ARGUMENTS_LOG_MAX = 4000
TOOL_RUNNING = "(running)"  # a tool row's result until the tool returns
TOOL_CUT_OFF = "(cut off: the call ended before the tool returned)"


@dataclass(frozen=True)
class _Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    method: Callable[..., Awaitable[ToolOutcome | str]]


def _describe(method: Callable[..., Any]) -> _Tool:
    """Build a tool from a method: docstring -> description, typed parameters -> schema."""
    hints = get_type_hints(method, include_extras=True)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(method).parameters.items():
        if name == "self":
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints[name], default)
    model = create_model(
        f"{method.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    description = " ".join((inspect.getdoc(method) or "").split("\n\n")[0].split())
    return _Tool(method.__name__, description, model, method)


def _strip_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    return schema


class CallTools(BookingTools):
    """The tools of one call, bound to its business, store, call id and caller id."""

    def __init__(
        self,
        business: Business,
        store: CallWriter,
        call_id: str,
        caller_number: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.business = business
        self.store = store
        self.call_id = call_id
        self.caller_number = caller_number
        self.transfers = 0
        self._clock = clock or (lambda: datetime.now(UTC))
        self._faq = FAQIndex(business.faq, codes_of(business.languages))
        self.language = primary_code(business.languages)  # for dates and times in results
        self.call_language: str | None = None  # chosen by the line (dialplan), if any
        self._booking = BookingDesk(business, store, call_id) if business.calendar else None
        self._tools = {
            t.name: t
            for _, member in inspect.getmembers(type(self), inspect.iscoroutinefunction)
            if getattr(member, "_is_tool", False)
            for t in [_describe(member)]
            if t.name != "transfer_call" or business.routing.departments
            if t.name not in CALENDAR_TOOLS or self._booking
        }

    def speak_in(self, language: str | None) -> None:
        """Say dates and times in tool results in `language` (None: the main language)."""
        self.call_language = language
        self.language = language or primary_code(self.business.languages)
        log(logger, logging.INFO, "call language", language=language or "auto-detected")
        if self._booking is not None:
            self._booking.language = self.language

    def schemas(self) -> list[dict[str, Any]]:
        """Tool definitions in the Realtime GA format (session.update `tools`)."""
        out = []
        for t in self._tools.values():
            parameters = _strip_titles(t.arguments.model_json_schema())
            parameters.setdefault("properties", {})
            if t.name == "transfer_call":
                # The only valid answers: listing them stops the model inventing targets.
                names = [d.name for d in self.business.routing.departments]
                parameters["properties"]["department"]["enum"] = names
            out.append(
                {"type": "function", "name": t.name, "description": t.description,
                 "parameters": parameters}
            )  # fmt: skip
        return out

    async def call(self, name: str, arguments: str) -> ToolOutcome:
        """Run the tool `name` with its JSON `arguments`; record it; never raise for bad input.

        The row is written before the tool runs (so a booking cut off by the end of the call
        is still on record) and completed when it returns."""
        started = time.perf_counter()
        row = await self._record_start(name, arguments)
        try:
            outcome = await self._dispatch(name, arguments)
        except asyncio.CancelledError:
            if row is not None:  # the call ended mid-tool: say so on its row
                duration_ms = (time.perf_counter() - started) * 1000
                await self._record_end(row, name, TOOL_CUT_OFF, duration_ms)
            raise
        duration_ms = (time.perf_counter() - started) * 1000
        action = type(outcome.action).__name__ if outcome.action else "none"
        log(logger, logging.INFO, "tool call", tool=name, ok=outcome.ok, ms=round(duration_ms, 1),
            action=action)  # fmt: skip
        if row is not None:
            try:
                await self._record_end(row, name, outcome.output, duration_ms)
            except asyncio.CancelledError:
                if outcome.settle is not None:
                    outcome.settle(False)  # the result will reach nobody: undo it
                raise
        return outcome

    async def _record_end(self, row: int, name: str, result: str, duration_ms: float) -> None:
        try:
            await self.store.finish_tool_call(row, result, duration_ms)
        except sqlite3.Error as error:
            log(logger, logging.ERROR, "tool call not recorded", tool=name, error=error)

    async def _record_start(self, name: str, arguments: str) -> int | None:
        try:
            return await self.store.add_tool_call(
                self.call_id, name, arguments[:ARGUMENTS_LOG_MAX], TOOL_RUNNING, 0.0
            )
        except sqlite3.Error as error:
            # The call goes on; losing one log row beats failing the caller.
            log(logger, logging.ERROR, "tool call not recorded", tool=name, error=error)
            return None

    async def _dispatch(self, name: str, arguments: str) -> ToolOutcome:
        spec = self._tools.get(name)
        if spec is None:
            return _error(f"there is no tool called {name!r}; use one of: {', '.join(self._tools)}")
        try:
            raw = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as error:
            return _error(f"the arguments were not valid JSON ({error.msg}); call {name} again")
        if not isinstance(raw, dict):
            return _error(f"the arguments must be a JSON object; call {name} again")
        try:
            parsed = spec.arguments.model_validate(raw)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in error.errors()
            )
            return _error(f"invalid arguments for {name}: {problems}")
        try:
            result = await spec.method(self, **dict(parsed))
        except (ToolError, CalendarError) as error:
            return _error(str(error))
        return result if isinstance(result, ToolOutcome) else ToolOutcome(result)

    # --- the tools --------------------------------------------------------------

    @tool
    async def lookup_faq(
        self,
        question: Annotated[str, Field(description="The caller's question, in their own words.")],
    ) -> ToolOutcome:
        """Look up the answer to a caller's question in the business's FAQ.

        Use it before saying you don't know something about the business.
        """
        question = cap(question, QUESTION_MAX, "question", "lookup_faq")
        match = self._faq.best(question)
        if match is None:
            return ToolOutcome(
                "No answer for that in the FAQ. Say you don't know and offer to take a message.",
                ok=False,
            )
        return ToolOutcome(
            f"Closest FAQ entry: Q: {match.entry.question} A: {match.entry.answer} "
            "(Use it only if it answers what the caller asked.)"
        )

    @tool
    async def get_business_hours(
        self,
        department: Annotated[
            str, Field(description="A department name, or empty for the business's hours.")
        ] = "",
    ) -> str:
        """Whether the business (or a department) is open right now, today's hours, the next
        opening, the weekly hours and upcoming closures."""
        now = self._clock()
        hours, label = self.business.hours, self.business.business.name
        status = business_status(self.business, now)
        if department.strip():
            dept = self._department(department)
            hours, label = dept.hours or hours, dept.name
            status = department_status(self.business, dept, now)
        closures = upcoming_closures(self.business.hours, status.now.date(), days=30)
        after_hours = None if status.is_open else self.business.hours.after_hours_message
        # In the call's language, whole (not English around a translated date).
        return hours_answer(label, status, hours, closures, after_hours, self.language)

    @tool
    async def take_message(
        self,
        caller_name: Annotated[str, Field(min_length=1, description="The caller's name.")],
        callback_number: Annotated[
            str,
            Field(
                description="The number to call back, as confirmed digit by digit with the "
                "caller. Empty string: use the number they are calling from."
            ),
        ],
        message: Annotated[
            str, Field(min_length=1, description="The message, in the caller's words.")
        ],
    ) -> ToolOutcome:
        """Save a message for the business to call the caller back. Only tell the caller it
        is saved after this succeeds; if it reports a problem, tell the caller and ask again."""
        name = cap(caller_name, NAME_MAX, "caller_name", "take_message")
        text = cap(message, self.business.messages.max_length, "message", "take_message")
        number = self._callback_number(callback_number, "take_message", "not saved")
        try:
            message_id = await self.store.add_message(
                self.call_id, self.business.slug, name, str(number), text
            )
        except sqlite3.Error as error:
            log(logger, logging.ERROR, "message not saved", error=error)
            raise ToolError(
                "not saved: a system error. Apologise and ask the caller to call back later."
            ) from None
        COUNTERS.messages_taken += 1
        kept = self.business.messages.max_length  # the caller hears that it was cut:
        cut = f" Too long: only its first {kept} characters were kept; say so." * (len(text) > kept)
        return ToolOutcome(
            f"Saved message number {message_id}. Callback number {number.spoken()}.{cut} "
            "Tell the caller the team will call them back.",
            outcome=Outcome.MESSAGE_TAKEN,
        )

    def transfer_refused(self) -> None:
        """The phone could not take the call (unregistered, busy): the caller was never
        transferred, so the attempt does not count against max_transfers."""
        self.transfers = max(0, self.transfers - 1)

    @tool
    async def transfer_call(
        self,
        department: Annotated[str, Field(description="The department to transfer the caller to.")],
    ) -> ToolOutcome:
        """Transfer the caller to a department. Only after the caller confirmed they want it."""
        dept = self._department(department)
        if self.transfers >= self.business.routing.max_transfers:
            raise ToolError("no more transfers are allowed on this call; offer to take a message.")
        status = department_status(self.business, dept, self._clock())
        if not status.is_open:
            raise ToolError(
                f"not transferred: {dept.name} is not available. "
                f"{status_sentence(status, self.language)} "
                "Offer to take a message instead."
            )
        self.transfers += 1
        return ToolOutcome(f"Transferring the caller to {dept.name}.", TransferRequest(dept))

    @tool
    async def end_call(self) -> ToolOutcome:
        """Hang up, after you have said goodbye and the caller has nothing more."""
        return ToolOutcome("The call will end after your goodbye.", HangupRequest())

    def _callback_number(self, raw: str, tool_name: str, failed: str) -> PhoneNumber:
        """The caller's number from `raw`, or their caller id when `raw` is empty."""
        text = cap(raw, NUMBER_MAX, "callback_number", tool_name)
        if not text and not self.caller_number:
            raise ToolError(f"{failed}: no callback number. Ask the caller for one.")
        try:
            return normalize_phone(
                text or self.caller_number or "", self.business.business.country_code
            )
        except InvalidPhoneNumber as error:
            raise ToolError(
                f"{failed}: the callback number is not valid: {error}. Ask the caller again."
            ) from None

    def _department(self, name: str) -> Department:
        dept = find_department(self.business, name)
        if dept is None:
            names = ", ".join(d.name for d in self.business.routing.departments) or "none"
            raise ToolError(f"there is no department called {name!r}. Departments: {names}.")
        return dept


def _error(reason: str) -> ToolOutcome:
    return ToolOutcome(f"error: {reason}", ok=False)
