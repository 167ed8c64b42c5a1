"""Following a caller after the receptionist: the call log's truth about handoffs.

A transfer, voicemail or fallback leaves Stasis, and with it the events the app gets
about the caller: the row would end then (a 40 s transfer logged as 13 s) and never
learn whether anyone answered. So before the caller leaves, the app subscribes to its
channel (`POST applications/{app}/subscription?eventSource=channel:ID`, which outlives
Stasis) and reads what Asterisk reports next:

- `Dial` with a final status: the department (or the fallback's operator) answered or not;
- `ChannelVarset VMSTATUS`: a voicemail was left or not;
- `ChannelDestroyed`: the call's real end time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from receptionist.ari import AriClient, AriError, Event
from receptionist.business import Department
from receptionist.call.dialplan import FALLBACK_CONTEXT
from receptionist.core.logs import log
from receptionist.core.outcomes import Outcome
from receptionist.store.handoffs import add_handoff, end_call_at, set_result
from receptionist.store.log import Store, StoreError
from receptionist.store.protocols import CallWriter

logger = logging.getLogger(__name__)

MISSED = frozenset({"NOANSWER", "BUSY", "CHANUNAVAIL", "CONGESTION", "CANCEL"})
SUBSCRIBE_TIMEOUT_S = 2.0  # ARI has been seen to stall on a subscription
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Result:
    """What one event says about a followed channel's handoff."""

    kind: str  # transfer | operator | voicemail | ended
    result: str  # answered | missed | left | not_left | "" (ended)

    @property
    def outcome(self) -> Outcome:
        """The call row's outcome for it, e.g. transfer_missed."""
        return _OUTCOMES[self.kind, self.result]


_OUTCOMES = {
    ("transfer", "answered"): Outcome.TRANSFER_ANSWERED,
    ("transfer", "missed"): Outcome.TRANSFER_MISSED,
    ("transfer", "declined"): Outcome.TRANSFER_DECLINED,  # a warm transfer's staff said no
    ("operator", "answered"): Outcome.OPERATOR_ANSWERED,
    ("operator", "missed"): Outcome.OPERATOR_MISSED,
    ("voicemail", "left"): Outcome.VOICEMAIL_LEFT,
    ("voicemail", "not_left"): Outcome.VOICEMAIL_NOT_LEFT,
}


def read_event(event: Event, followed: set[str] | dict[str, str]) -> tuple[str, Result] | None:
    """(channel id, result) if `event` tells something about a followed channel."""
    raw = event.raw
    if event.type == "Dial":
        caller = raw.get("caller") or {}
        status = str(raw.get("dialstatus") or "")
        if caller.get("id") not in followed or not status:
            return None
        context = (caller.get("dialplan") or {}).get("context", "")
        kind = "operator" if context == FALLBACK_CONTEXT else "transfer"
        if status == "ANSWER":
            return caller["id"], Result(kind, "answered")
        return (caller["id"], Result(kind, "missed")) if status in MISSED else None
    channel_id = event.channel_id
    if channel_id is None or channel_id not in followed:
        return None
    if event.type == "ChannelVarset" and raw.get("variable") == "VMSTATUS":
        return channel_id, Result(
            "voicemail", "left" if raw.get("value") == "SUCCESS" else "not_left"
        )
    if event.type == "ChannelDestroyed":
        return channel_id, Result("ended", "")
    return None


class Follower:
    """Follows channels that left Stasis on purpose and writes what became of them."""

    def __init__(self, ari: AriClient, store: CallWriter, app: str) -> None:
        self.ari = ari
        self.store = store
        self.app = app
        self.following: dict[str, str] = {}  # channel id -> call id
        self._tasks: set[asyncio.Task[None]] = set()

    async def follow(
        self, channel_id: str, call_id: str, kind: str, department: Department | None
    ) -> None:
        """Call before the caller leaves Stasis. Never raises: a log row is not worth
        a caller."""
        self.following[channel_id] = call_id
        try:
            # The caller waits for this: a slow answer costs the call log, never the caller.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                await self.ari.subscribe(self.app, f"channel:{channel_id}")
        except (AriError, TimeoutError) as exc:
            log(logger, logging.WARNING, "cannot follow channel", error=repr(exc))
        name = department.name if department is not None else None
        target = None
        if department is not None:
            target = department.mailbox if kind == "voicemail" else department.dial_string
        step = functools.partial(add_handoff, call_id=call_id, kind=kind, department=name,
                                 target=target)  # fmt: skip
        await self._write(step)

    def on_event(self, event: Event) -> None:
        """Called by the app for every event, in order."""
        found = read_event(event, self.following)
        if found is None:
            return
        channel_id, result = found
        call_id = self.following[channel_id]
        if result.kind == "ended":
            del self.following[channel_id]
            step = functools.partial(end_call_at, call_id=call_id, at=datetime.now(UTC))
            self._spawn(self._write(step))
            return
        log(logger, logging.INFO, "handoff result", call=call_id, kind=result.kind,
            result=result.result)  # fmt: skip
        self._spawn(self._resolve(call_id, result))

    async def record(self, call_id: str, kind: str, result: str) -> None:
        """A result the call learnt itself (a warm transfer, still in Stasis)."""
        await self._resolve(call_id, Result(kind, result))

    async def _resolve(self, call_id: str, result: Result) -> None:
        step = functools.partial(set_result, call_id=call_id, kind=result.kind,
                                 result=result.result)  # fmt: skip
        if await self._write(step):
            await self._write(lambda store: store.add_outcome(call_id, result.outcome))

    async def _write(self, step: Callable[[Store], T]) -> T | None:
        try:
            return await self.store.run(step)
        except (StoreError, RuntimeError) as exc:  # RuntimeError: the store has closed
            log(logger, logging.ERROR, "handoff not logged", error=repr(exc))
            return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name="handoff-log")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the writes under way (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
