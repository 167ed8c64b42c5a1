"""Call back from the desk phone: ring the staff member's own phone; once they pick up,
dial the caller through the business's outbound context and bridge the two.

    web "Call back" -> checks (limit, phone online) -> call row (direction callback)
      -> originate PJSIP/<extension> into this app (staff answers: StasisStart)
      -> ringback to staff; originate Local/<number>@<context> (caller answers: StasisStart)
      -> both in a bridge; row answered, message handled (when configured)
      -> either side hangs up: the other is hung up, the row closed with an outcome.

The number is never taken from the request: the web page passes the one stored with the
message or call. Both channels carry ids with CALLBACK_PREFIX so the app hands their
events here, in order, one queue per callback.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from receptionist.ari import AriClient, AriError, Event, StasisStart
from receptionist.ari.cleanup import quietly
from receptionist.business import Business
from receptionist.core.logs import call_id_var, log
from receptionist.core.outcomes import Outcome
from receptionist.store.callbacks import callback_answered, callback_ended, open_callback
from receptionist.store.protocols import CallWriter
from receptionist.store.sql import StoreError

logger = logging.getLogger(__name__)

CALLBACK_PREFIX = "rx-callback-"
# What may go into the Local/ dial string: stored numbers came from a conversation.
DIALLABLE = re.compile(r"^\+?[0-9]{3,20}$")
_ENDING = ("StasisEnd", "ChannelDestroyed")


class CallbackRefused(Exception):
    """Why a callback was not placed, said to the staff member as it is."""


@dataclass(frozen=True)
class CallbackRequest:
    business: Business
    number: str  # the number stored with the message or call: nothing else is dialled
    username: str
    extension: str
    message_id: int | None = None


@dataclass
class Callback:
    id: str
    request: CallbackRequest
    staff: str  # the desk phone's channel
    far: str  # the caller's (a Local channel into the outbound context)
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    bridge_id: str | None = None
    ringback: str | None = None
    staff_up: bool = False
    answered: bool = False


class CallbackDesk:
    """The callbacks in progress, for one ARI application."""

    def __init__(self, ari: AriClient, app: str, store: CallWriter) -> None:
        self.ari = ari
        self.app = app
        self.store = store
        self.active: dict[str, Callback] = {}  # channel id -> its callback
        self._placed: dict[str, deque[float]] = {}  # username -> start times (last hour)
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ placing
    def _limit_refusal(self, request: CallbackRequest) -> str:
        config = request.business.callbacks
        assert config is not None
        recent = self._placed.setdefault(request.username, deque())
        while recent and recent[0] < time.monotonic() - 3600:
            recent.popleft()
        if len(recent) >= config.per_hour:
            return f"You have placed {config.per_hour} callbacks in the last hour: wait a while."
        if any(c.request.username == request.username for c in self.active.values()):
            return "You are already calling someone back: finish that call first."
        return ""

    async def _phone_refusal(self, extension: str) -> str:
        state, busy = await self.ari.endpoint_state("PJSIP", extension)
        if state != "online":
            return (
                f"Your desk phone ({extension}) is {state}: it cannot ring. Check that it is "
                "plugged in and registered, then try again."
            )
        if busy:
            return f"Your desk phone ({extension}) is on a call: try again when it is free."
        return ""

    async def place(self, request: CallbackRequest) -> Callback:
        """Ring the staff member's phone; CallbackRefused says why not."""
        if request.business.callbacks is None:
            raise CallbackRefused("Callbacks are not set up for this business.")
        if not DIALLABLE.match(request.number):
            raise CallbackRefused(f"The stored number '{request.number[:30]}' cannot be dialled.")
        try:
            refusal = self._limit_refusal(request) or await self._phone_refusal(request.extension)
        except AriError as exc:
            log(logger, logging.WARNING, "callback: phone state unknown", error=str(exc))
            refusal = "The phone system cannot be reached right now: try again shortly."
        if refusal:
            raise CallbackRefused(refusal)
        row = f"{CALLBACK_PREFIX}{uuid.uuid4().hex}"
        callback = Callback(row, request, staff=f"{row}-desk", far=f"{row}-out")
        await self.store.run(
            open_callback, call_id=callback.id, business=request.business.slug,
            number=request.number, channel_id=callback.staff, placed_by=request.username,
            message_id=request.message_id,
        )  # fmt: skip
        self._placed[request.username].append(time.monotonic())
        self.active[callback.staff] = self.active[callback.far] = callback
        task = asyncio.create_task(self._run(callback), name=f"callback:{callback.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        config = request.business.callbacks
        try:
            await self.ari.originate(
                f"PJSIP/{request.extension}", app=self.app, app_args="callback",
                channel_id=callback.staff, timeout=config.ring_seconds,
                caller_id=f'"Call back" <{request.number}>',
            )  # fmt: skip
        except AriError as exc:
            log(logger, logging.ERROR, "callback: desk phone not rung", call_id=callback.id,
                error=str(exc))  # fmt: skip
            task.cancel()
            await self._close(callback, Outcome.CALLBACK_FAILED)
            raise CallbackRefused("Your desk phone could not be rung: try again.") from None
        log(logger, logging.INFO, "callback ringing desk phone", call_id=callback.id,
            extension=request.extension, user=request.username)  # fmt: skip
        return callback

    # ------------------------------------------------------------------ events
    def on_event(self, event: Event) -> bool:
        """Take the events of callback channels (True); others are not ours (False)."""
        channel = event.channel_id
        if not channel or not channel.startswith(CALLBACK_PREFIX):
            return False
        callback = self.active.get(channel)
        if callback is not None:
            callback.events.put_nowait(event)
        return True

    async def _run(self, callback: Callback) -> None:
        call_id_var.set(callback.id)
        outcome = Outcome.CALLBACK_ENDED
        try:
            while True:
                event = await callback.events.get()
                if isinstance(event, StasisStart) and event.channel.id == callback.staff:
                    callback.staff_up = True
                    await self._dial_caller(callback)
                elif isinstance(event, StasisStart) and event.channel.id == callback.far:
                    await self._connect(callback)
                elif event.type in _ENDING:
                    if not callback.staff_up:
                        outcome = Outcome.CALLBACK_DESK_MISSED
                    elif not callback.answered:
                        outcome = Outcome.CALLBACK_NO_ANSWER
                    break
        except (AriError, StoreError) as exc:
            log(logger, logging.ERROR, "callback failed", error=str(exc))
            outcome = Outcome.CALLBACK_FAILED
        await self._close(callback, outcome)

    async def _dial_caller(self, callback: Callback) -> None:
        request = callback.request
        config = request.business.callbacks
        assert config is not None
        # The staff member hears ringing while the caller's phone rings.
        try:
            callback.ringback = await self.ari.play(callback.staff, "tone:ring")
        except AriError as exc:
            log(logger, logging.WARNING, "callback: no ringback", error=str(exc))
        dids = request.business.dids
        log(logger, logging.INFO, "callback dialling caller", context=config.context)
        await self.ari.originate(
            f"Local/{request.number}@{config.context}/n", app=self.app, app_args="callback",
            channel_id=callback.far, timeout=config.ring_seconds,
            caller_id=f'"{request.business.business.name[:40]}" <{dids[0] if dids else ""}>',
        )  # fmt: skip

    async def _connect(self, callback: Callback) -> None:
        if callback.ringback is not None:
            await quietly(self.ari.request("DELETE", f"playbacks/{callback.ringback}",
                                           missing_ok=True))  # fmt: skip
        bridge = await self.ari.create_bridge("mixing", name=callback.id)
        callback.bridge_id = bridge.id
        await self.ari.add_channel(bridge.id, callback.staff)
        await self.ari.add_channel(bridge.id, callback.far)
        callback.answered = True
        config = callback.request.business.callbacks
        mark = bool(config and config.mark_handled)
        message = callback.request.message_id
        marked = await self.store.run(callback_answered, callback.id, message, mark)
        log(logger, logging.INFO, "callback connected", message=message, marked_handled=marked)

    async def _close(self, callback: Callback, outcome: Outcome) -> None:
        for channel in (callback.staff, callback.far):
            self.active.pop(channel, None)
            await quietly(self.ari.hangup(channel))
        if callback.bridge_id is not None:
            await quietly(self.ari.destroy_bridge(callback.bridge_id))
        try:
            await self.store.run(callback_ended, callback.id, outcome)
        except StoreError as exc:
            log(logger, logging.ERROR, "callback end not logged", error=str(exc))
        log(logger, logging.INFO, "callback ended", call_id=callback.id, outcome=outcome)

    def rows(self) -> set[str]:
        """Call rows of callbacks in progress (not to be closed as left over)."""
        return {callback.id for callback in self.active.values()}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
