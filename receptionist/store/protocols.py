"""What each part of the service may ask of the call log, by concern.

The call flow, the service, the tools and the handoff follower are typed against these,
not against the store's class: one implementation serves both engines (store/log.py),
and a test can hand any part a double of just what it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.store.log import MessageStatus, Speaker, Store
from receptionist.store.records import CallOwner, CallRecord, MessageRecord

P = ParamSpec("P")
R = TypeVar("R")


class CallWriter(Protocol):
    """A call's rows as they happen: each awaited write is committed when it returns."""

    async def start_call(
        self,
        call_id: str,
        business: str,
        caller_number: str | None,
        channel_id: str | None,
        *,
        at: datetime | None = None,
        owner: CallOwner | None = None,
    ) -> None: ...

    async def add_turn(
        self, call_id: str, speaker: Speaker, text: str, start_ms: int, end_ms: int
    ) -> int: ...

    async def add_tool_call(
        self, call_id: str, name: str, arguments: str, result: str, duration_ms: float
    ) -> int: ...

    async def finish_tool_call(self, tool_call_id: int, result: str, duration_ms: float) -> None:
        """A tool's row is written as it starts; this fills in how it ended."""
        ...

    async def add_message(
        self,
        call_id: str | None,
        business: str,
        caller_name: str,
        callback_number: str,
        message: str,
        *,
        at: datetime | None = None,
    ) -> int: ...

    async def add_recording(self, call_id: str, path: str, duration_s: float | None) -> int: ...

    async def add_outcome(self, call_id: str, outcome: Outcome | FallbackReason) -> None: ...

    async def end_call(self, call_id: str, *, at: datetime | None = None) -> None: ...

    async def run(
        self, func: Callable[Concatenate[Store, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """`func(store, ...)` in the writes' order: for the table modules (handoff rows,
        booking holds), written once over the store's connection."""
        ...


class CallReader(Protocol):
    async def list_calls(
        self,
        *,
        business: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        search: str | None = None,
        limit: int = 50,
    ) -> list[CallRecord]: ...

    async def get_call(self, call_id: str) -> CallRecord | None: ...

    async def list_messages(
        self,
        *,
        business: str | None = None,
        status: MessageStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        search: str | None = None,
        limit: int = 50,
    ) -> list[MessageRecord]: ...

    async def list_bookings(self, *, business: str | None = None) -> list[dict[str, Any]]: ...


class Reclaim(Protocol):
    async def close_open_calls(
        self, owned: frozenset[str], outcome: Outcome, *, asterisk: str | None = None
    ) -> int:
        """End every call row still open except `owned`, adding `outcome`; how many.
        With `asterisk`, only that server's rows (and rows that name no server)."""
        ...


class CallLog(CallWriter, CallReader, Reclaim, Protocol):
    """All of it, for the service that opens the call log and hands out the parts."""

    async def close(self) -> None: ...
