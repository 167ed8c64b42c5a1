"""A warm transfer, all through ARI: the caller holds, staff hear who it is, then choose.

1. The caller leaves the receptionist's bridge for music on hold.
2. The staff phone is originated into Stasis (args `warm`), ringing up to
   `routing.warm_ring_seconds`, showing the caller's number.
3. On answer, staff join a whisper bridge of their own (whisper.py) and hear the
   summary, spoken by a short realtime session of its own and played on the whisper's
   own media leg: nothing staff say or key reaches the caller's model or keypad, so
   their "hello" cannot cut the whisper. If no model can speak it, a beep says "a
   transferred call" and staff still choose.
4. 1 accepts: caller and staff share a new bridge until one hangs up. 2, no key, or no
   answer: the caller goes back to the receptionist as after an unanswered blind
   transfer ([receptionist-transfer] `failed`, with the department's name and why), which
   offers to take a message.

Every bridge made here is destroyed on every path, a cancelled transfer included (the
caller hanging up ends the call's tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from receptionist.ari import AriClient, AriError, Event
from receptionist.audio.resample import model_to_caller
from receptionist.audio.writer import PacedWriter
from receptionist.business import Business
from receptionist.call.dialplan import TRANSFER_CONTEXT
from receptionist.call.handoff.follow import Follower
from receptionist.call.handoff.whisper import WhisperDeps, WhisperLeg, shielded
from receptionist.core.logs import log
from receptionist.model import ModelSession
from receptionist.realtime import (
    AudioDelta,
    RealtimeEvent,
    RealtimeUnavailable,
    ResponseDone,
    SessionClosed,
    SessionConfig,
)
from receptionist.tools.spec import TransferRequest

logger = logging.getLogger(__name__)

CHOICE_TIMEOUT_S = 15.0  # after the whisper: no key means no
WHISPER_TIMEOUT_S = 15.0
WHISPER_ITEM = "whisper"
WHISPER_PROMPT = (
    "You are a receptionist handing a call to a colleague who just picked up. Say, in "
    "one short sentence: {summary} Then say: press 1 to take the call, or 2 to decline."
)
BEEP = "tone:880/250,0/150,880/250"  # when no model can speak the whisper
SHOWN_NAME = "Transfer"  # the caller-ID name staff see, beside the caller's number


class WarmDeps(WhisperDeps, Protocol):
    """What a warm transfer uses of the call's shared parts (call_setup.CallDeps)."""

    @property
    def new_session(self) -> Callable[[SessionConfig, Business], ModelSession] | None: ...

    @property
    def follower(self) -> Follower | None: ...


@dataclass
class WarmParty:
    """The call's side of the transfer: what the warm transfer may use."""

    deps: WarmDeps
    caller_id: str
    caller_number: str | None  # what the staff phone shows
    staff_id: str  # the id the staff leg is originated with (the app routes it here)
    whisper_id: str  # the whisper leg's id (routed here too)
    bridge_id: str  # the receptionist's bridge, with the media leg in it
    leg_format: str  # the AudioSocket format ("slin24", "slin16" or "slin")
    leg_rate: int

    @property
    def ari(self) -> AriClient:
        return self.deps.ari


class WarmTransfer:
    def __init__(self, party: WarmParty, request: TransferRequest, business: Business) -> None:
        self.party = party
        self.request = request
        self.business = business
        self.answered = asyncio.Event()
        self.staff_gone = asyncio.Event()
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.whisper = WhisperLeg(party.deps, party.whisper_id, party.leg_format,
                                  party.leg_rate)  # fmt: skip

    def on_event(self, event: Event) -> None:
        """Events about the staff leg (and the whisper leg), in ARI order."""
        if event.channel_id == self.whisper.channel_id:
            if event.type == "StasisStart":
                self.whisper.started.set()
        elif event.type == "StasisStart":
            self.answered.set()
        elif event.type == "ChannelDtmfReceived":
            self.keys.put_nowait(str(event.raw.get("digit", "")))
        elif event.type in ("ChannelDestroyed", "StasisEnd", "ChannelHangupRequest"):
            self.staff_gone.set()

    async def run(self) -> str:
        """ "answered" (the caller now talks to staff until one hangs up), or "declined" /
        "missed" (the caller has been sent back to the receptionist)."""
        party, ari = self.party, self.party.ari
        await ari.remove_channel(party.bridge_id, party.caller_id)
        await ari.start_moh(party.caller_id, self.business.routing.hold_music)
        ring = self.business.routing.warm_ring_seconds
        try:
            await ari.originate(
                self.request.department.dial_string, app=party.deps.app_name, app_args="warm",
                channel_id=party.staff_id, timeout=ring, caller_id=self._shown_caller_id(),
            )  # fmt: skip
        except AriError as exc:
            log(logger, logging.WARNING, "warm transfer: staff leg failed", error=str(exc))
            return await self._back("missed", "CHANUNAVAIL")
        if not await _first(self.answered, self.staff_gone, ring + 5):
            return await self._back("missed", "NOANSWER")
        try:
            key = await self._offer()
        finally:
            await self.whisper.close()
        if key != "1":
            return await self._back("declined", "DECLINED")
        return await self._connect()

    async def _offer(self) -> str:
        """The whisper on staff's own bridge, then their key ("" for none)."""
        try:
            shown = (SHOWN_NAME, self._shown_number())
            writer = await self.whisper.open(self.party.staff_id, shown)
        except (AriError, TimeoutError, ConnectionError) as exc:
            log(logger, logging.WARNING, "whisper leg failed", error=repr(exc))
            writer = None
        await self._whisper(writer)
        return await self._choice()

    async def _connect(self) -> str:
        party, ari = self.party, self.party.ari
        bridge_id = str(uuid.uuid4())  # known before the request (see WhisperLeg.open)
        try:
            await ari.create_bridge(
                "mixing", name=f"rx-warm-{party.caller_id}", bridge_id=bridge_id
            )
            await ari.stop_moh(party.caller_id)
            await ari.add_channel(bridge_id, party.caller_id)
            await ari.add_channel(bridge_id, party.staff_id)
            log(logger, logging.INFO, "warm transfer accepted",
                department=self.request.department.name)  # fmt: skip
            await self._log("answered")
            await self.staff_gone.wait()  # the caller leaving ends the call (and this) itself
        finally:
            await shielded(ari.destroy_bridge(bridge_id))
        return "answered"

    def _shown_number(self) -> str:
        return re.sub(r"[^0-9+*#]", "", self.party.caller_number or "")[:20]

    def _shown_caller_id(self) -> str:
        """The caller's number, as the staff phone should show it (never a channel id):
        it becomes the From of the INVITE to the phone."""
        number = self._shown_number()
        return f"{SHOWN_NAME} <{number}>" if number else SHOWN_NAME

    async def _whisper(self, writer: PacedWriter | None) -> None:
        """Speak the summary to staff; a beep if no model (or no whisper leg) can."""
        party = self.party
        summary = self.request.summary or "I have a caller for you."
        if party.deps.new_session is not None and writer is not None:
            config = SessionConfig(instructions=WHISPER_PROMPT.format(summary=summary),
                                   voice=self.business.voice.voice)  # fmt: skip
            session = party.deps.new_session(config, self.business)
            try:
                await session.connect(timeout=3.0)
                session.request_response()
                async with asyncio.timeout(WHISPER_TIMEOUT_S):  # not wait_for (whisper.py)
                    await self._speak(session.events(), writer)
                return
            except (RealtimeUnavailable, TimeoutError) as exc:
                log(logger, logging.WARNING, "whisper not spoken", error=repr(exc))
            finally:
                await session.close()
        with contextlib.suppress(AriError):
            await party.ari.play(party.staff_id, BEEP)

    async def _speak(self, events: AsyncIterator[RealtimeEvent], writer: PacedWriter) -> None:
        resample = model_to_caller(self.party.leg_rate)
        async for event in events:
            if isinstance(event, AudioDelta):
                writer.write(WHISPER_ITEM, resample.process(event.pcm24))
            elif isinstance(event, (ResponseDone, SessionClosed)):
                break
        writer.write(WHISPER_ITEM, resample.flush())
        writer.finish(WHISPER_ITEM)
        await writer.wait_done(WHISPER_ITEM)

    async def _choice(self) -> str:
        get = asyncio.ensure_future(self.keys.get())
        gone = asyncio.ensure_future(self.staff_gone.wait())
        done, pending = await asyncio.wait({get, gone}, timeout=CHOICE_TIMEOUT_S,
                                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        for task in pending:
            task.cancel()
        return get.result() if get in done else ""

    async def _log(self, result: str) -> None:
        follower = self.party.deps.follower
        if follower is not None:
            await follower.record(self.party.caller_id, "transfer", result)

    async def _back(self, result: str, status: str) -> str:
        """Staff declined or never answered: hang up their leg, and send the caller back
        through the unanswered-transfer path, so the receptionist offers a message."""
        party, ari = self.party, self.party.ari
        log(logger, logging.INFO, "warm transfer not taken", result=result, status=status)
        await self._log(result)
        with contextlib.suppress(AriError):
            await ari.hangup(party.staff_id)
        with contextlib.suppress(AriError):
            await ari.stop_moh(party.caller_id)
        # What the receptionist tells the model when the caller is back (call/setup.py).
        department = self.request.department.name
        await ari.set_variable(party.caller_id, "__RECEPTIONIST_TRANSFER_DEPARTMENT", department)
        await ari.set_variable(party.caller_id, "DIALSTATUS", status)
        await ari.continue_in_dialplan(party.caller_id, TRANSFER_CONTEXT, "failed")
        return result


async def _first(wanted: asyncio.Event, other: asyncio.Event, timeout: float) -> bool:
    """True if `wanted` is set before `other` (or the timeout)."""
    tasks = {asyncio.ensure_future(wanted.wait()), asyncio.ensure_future(other.wait())}
    await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    return wanted.is_set()
