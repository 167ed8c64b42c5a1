"""The Stasis app: routes ARI events and AudioSocket legs to Calls, and shuts down gently.

One consumer reads the events websocket and hands each event, in order, to the
call that owns the channel; each call runs as its own task.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections import ChainMap
from collections.abc import Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

from receptionist.ari import AriClient, AriError, Event, RecordingFinished, StasisStart
from receptionist.ari.barrier import EventBarrier
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.business import Business, ConfigIssue, business_for_did
from receptionist.call.call import Call
from receptionist.call.callback import CallbackDesk
from receptionist.call.dialplan import MEDIA_PREFIX, hand_to_fallback
from receptionist.call.handoff.follow import Follower
from receptionist.call.setup import CallDeps, LegFormat, SessionFactory, StasisArgs, call_limits
from receptionist.core.logs import log
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.service import reclaim
from receptionist.service.metrics import CallMetrics
from receptionist.service.reclaim import close_unowned_rows, reclaim_channels
from receptionist.settings import Settings
from receptionist.store.protocols import CallLog
from receptionist.store.records import CallOwner
from receptionist.turns.events import TurnLimits

logger = logging.getLogger(__name__)


def supports_wideband(version: str) -> bool:
    """AudioSocket carries rates above 8 kHz from Asterisk 20.17, 21.12, 22.7 and 23.1."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    floor = {20: 17, 21: 12, 22: 7}
    return major >= 23 or minor >= floor.get(major, 10**6)


@dataclass
class ReceptionistApp:
    settings: Settings
    businesses: dict[str, Business]
    store: CallLog
    ari: AriClient
    new_session: SessionFactory | None
    calls: dict[str, Call] = field(default_factory=dict)
    owners: dict[str, Call] = field(default_factory=dict)  # channel id -> call
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    accepting: bool = True
    metrics: CallMetrics = field(default_factory=CallMetrics)
    turn_limits: TurnLimits = field(default_factory=TurnLimits)
    config_issues: list[ConfigIssue] = field(default_factory=list)  # businesses not loaded
    # Callers `serve` handed to the fallback before the app started (reclaim_at_start).
    handed_at_start: tuple[str, ...] = ()
    leg_format: LegFormat | None = None  # the media format calls use, once known
    call_owner: CallOwner | None = None  # this instance and its Asterisk, once ARI is connected
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _rows_closed_once: bool = False

    def __post_init__(self) -> None:
        self.barrier = EventBarrier(self.ari, self.settings.ari_app)
        # Staff's calls back from the web page, on this app's ARI connection.
        self.callbacks = CallbackDesk(self.ari, self.settings.ari_app, self.store)

    async def run(self) -> None:
        """Serve until cancelled: AudioSocket server first (Asterisk gives up after 2 s)."""
        async with AudioSocketServer(
            self.settings.audiosocket_host, self.settings.audiosocket_port
        ) as audiosocket:
            self.audiosocket = audiosocket
            fmt = self.settings.audiosocket_format
            # None until Asterisk has said its version ("auto"); each call gets it on start.
            self.leg_format = None if fmt == "auto" else LegFormat(fmt)
            # The address Asterisk dials: configured, or where we really listen (port 0 = any).
            advertise = self.settings.advertise_address
            if not advertise or advertise.endswith(":0"):
                advertise = f"{self.settings.audiosocket_host}:{audiosocket.port}"
            self.deps = CallDeps(
                settings=self.settings,
                ari=self.ari,
                audiosocket=audiosocket,
                store=self.store,
                new_session=self.new_session,
                app_name=self.settings.ari_app,
                audiosocket_address=advertise,
                turn_limits=call_limits(self.settings, self.turn_limits),
                follower=Follower(self.ari, self.store, self.settings.ari_app),
            )
            for issue in self.config_issues:
                log(logger, logging.ERROR, "business not loaded", file=issue.file, line=issue.line,
                    field=issue.field, reason=issue.reason)  # fmt: skip
            events = self.ari.events(
                self.settings.ari_app, connected=self.connected, on_connect=self._on_connect
            )
            sweeper = asyncio.create_task(self._sweep_rows())
            # Everything loaded so far (the SDKs' thousands of type objects) lives as long as
            # the process: keep it out of full collections, which otherwise stall the event
            # loop, and so every call's audio, for over 100 ms (measured in a 60 s call).
            gc.freeze()
            try:
                async for event in events:
                    self._route(event)
            finally:
                sweeper.cancel()
                gc.unfreeze()  # freed normally at exit (native bindings check for leaks)

    def _owned_rows(self) -> set[str]:
        """Call rows still in use: running calls, and callers followed after a handoff."""
        follower = self.deps.follower
        followed = set(follower.following.values()) if follower is not None else set()
        return set(self.calls) | followed | self.callbacks.rows()

    async def _on_connect(self) -> None:
        """Learn which Asterisk this is before any event is read (each call row names it),
        then reclaim."""
        try:
            asterisk = await self.ari.server_id()
        except AriError as exc:  # rows of calls meanwhile name no server (any sweep's)
            log(logger, logging.WARNING, "asterisk server unknown", error=str(exc))
        else:
            self.call_owner = CallOwner(f"{socket.gethostname()}/{self.settings.ari_app}", asterisk)
            log(logger, logging.INFO, "asterisk server", asterisk=asterisk,
                instance=self.call_owner.instance)  # fmt: skip
        await self._reclaim()

    async def _reclaim(self) -> None:
        """On each ARI (re)connection, take back what no running call owns (reclaim.py),
        then close the rows left open: the first time those of a process that died
        (`service_restart`), later those whose end could not be written. It runs while
        events are read: calls arriving meanwhile must be started, not reclaimed."""
        self._spawn(self._reclaim_caught_up(), name="reclaim")

    async def _reclaim_caught_up(self) -> None:
        first = not self._rows_closed_once
        handed = self.handed_at_start if first else ()
        try:
            reclaimed = await reclaim_channels(
                self.ari, self.settings.ari_app,
                # Live views, not copies: calls arriving meanwhile are owned too.
                owned_channels=ChainMap[str, Any](self.owners, self.callbacks.active),
                owned_bridges=None if self.calls or self.callbacks.active else (),
                caught_up=self.barrier.caught_up,
            )  # fmt: skip
            handed += reclaimed.callers
        except AriError as exc:
            log(logger, logging.WARNING, "reclaim failed", error=str(exc))
        except TimeoutError:  # better a left-over caller than a live call sent away
            log(logger, logging.WARNING, "reclaim skipped: the event stream did not catch up")
        outcome = Outcome.SERVICE_RESTART if first else Outcome.END_NOT_LOGGED
        if await self._close_rows(outcome, handed):
            self._rows_closed_once = True

    async def _sweep_rows(self) -> None:
        """Every few minutes: rows of calls that ended while the disk was full get an end."""
        while True:
            await asyncio.sleep(reclaim.SWEEP_EVERY_S)
            await self._close_rows(Outcome.END_NOT_LOGGED)

    async def _close_rows(self, outcome: Outcome, handed: Collection[str] = ()) -> bool:
        """Close the open rows no caller needs any more; False if Asterisk could not say
        which callers are alive. A row whose channel Asterisk still has belongs to a live
        caller: another instance's (instances share one call log), or one followed after a
        handoff. Callers just handed to the fallback are done with the receptionist. Only
        this Asterisk's rows: another server's channels are not in its list."""
        owner = self.call_owner
        if owner is None:
            log(logger, logging.WARNING, "open rows not checked: asterisk server unknown")
            return False
        try:
            alive = set(await self.ari.channel_ids())
        except AriError as exc:
            log(logger, logging.WARNING, "open rows not checked", error=str(exc))
            return False
        owned = self._owned_rows() | (alive - set(handed))
        await close_unowned_rows(self.store, owned, outcome, asterisk=owner.asterisk)
        return True

    def _route(self, event: Event) -> None:
        self.barrier.on_event(event)
        if self.callbacks.on_event(event):
            return
        if self.deps.follower is not None:
            self.deps.follower.on_event(event)
        if (
            isinstance(event, StasisStart)
            and not event.channel.id.startswith(MEDIA_PREFIX)
            and event.args[:1] != ("resume",)  # back from a recording detour: its call's
        ):
            self._start_call(event)
            return
        if isinstance(event, RecordingFinished):
            for active in self.calls.values():
                if active.recorder.name == event.recording.name:
                    active.on_event(event)
            return
        channel_id = event.channel_id
        call = self.owners.get(channel_id) if channel_id else None
        if call is not None:
            call.on_event(event)
        if event.type == "ChannelDestroyed" and channel_id:
            self.owners.pop(channel_id, None)

    def _start_call(self, start: StasisStart) -> None:
        args = StasisArgs.parse(start.args)
        business = self._choose_business(args.business, args.did)
        if business is None or not self.accepting:
            reason = FallbackReason.UNKNOWN_BUSINESS
            if business is not None:
                reason = FallbackReason.SHUTTING_DOWN
            log(logger, logging.WARNING, "call not taken", channel=start.channel.id,
                reason=reason, business=args.business, did=args.did)  # fmt: skip
            self._spawn(self._hand_back(start.channel.id, reason))
            return
        call = Call(self.deps, start, business, args, owner=self.call_owner)
        self.metrics.call_started()
        self.calls[call.id] = call
        self.owners[call.id] = call
        self.owners[call.media_id] = call
        self.owners[call.staff_id] = call  # a warm transfer's staff leg
        self.owners[call.whisper_id] = call  # and its whisper leg
        self._spawn(self._run_call(call), name=f"call:{call.id}")

    def _choose_business(self, slug: str, did: str) -> Business | None:
        if slug:
            return self.businesses.get(slug)
        if did:
            found = business_for_did(self.businesses.values(), did)
            if found is not None:
                return found
        default = self.settings.default_business
        if default:
            return self.businesses.get(default)
        if len(self.businesses) == 1:
            return next(iter(self.businesses.values()))
        return None

    async def _detect_leg_format(self) -> None:
        """Pick slin24 or slin (8 kHz) from the Asterisk version, once it is reachable."""
        try:
            version = await self.ari.version()
        except (AriError, OSError) as exc:
            log(logger, logging.WARNING, "asterisk version unknown, using 8 kHz", error=str(exc))
            return  # "slin" works on every AudioSocket version; try again next call
        self.leg_format = LegFormat.SLIN24 if supports_wideband(version) else LegFormat.SLIN
        log(logger, logging.INFO, "asterisk", version=version, leg_format=self.leg_format)

    async def _run_call(self, call: Call) -> None:
        if self.leg_format is None:
            await self._detect_leg_format()
        try:
            await call.run(self.leg_format or LegFormat.SLIN)
        finally:
            self.metrics.call_ended(call.end_reason or "", call.first_audio_s)
            # A caller back from a failed transfer may already have a new Call here.
            if self.calls.get(call.id) is call:
                del self.calls[call.id]
            for key in (call.id, call.media_id, call.staff_id, call.whisper_id):
                if self.owners.get(key) is call:
                    del self.owners[key]

    async def _hand_back(self, channel_id: str, reason: FallbackReason) -> None:
        await hand_to_fallback(self.ari, channel_id, reason)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str = "") -> None:
        task = asyncio.create_task(coro, name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self, grace: float) -> None:
        """Stop taking calls; let active ones finish within `grace` s, then hand them over."""
        self.accepting = False
        log(logger, logging.INFO, "shutting down", active_calls=len(self.calls), grace_s=grace)
        active = [t for t in self._tasks if t.get_name().startswith("call:")]
        if active:
            await asyncio.wait(active, timeout=grace)
        for call in list(self.calls.values()):
            await call.fallback(FallbackReason.SHUTTING_DOWN)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        await self.callbacks.close()
