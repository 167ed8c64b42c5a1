"""The call flow: one `Call` per call, owning its tasks, with one teardown.

    StasisStart -> answer -> mixing bridge -> AudioSocket leg + model session (together)
      -> greet -> converse (caller audio -> model; model audio -> paced writer -> caller)
      -> end: hangup, transfer (continue into [receptionist-transfer]) or fallback
         (continue into [receptionist-fallback]); then release leg, model, bridge.

A model or ARI failure never leaves the caller in dead air: any path that cannot
go on hands the caller to the dialplan fallback, which Asterisk plays by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from receptionist.ari import (
    AriClient,
    AriError,
    Channel,
    Event,
    Recording,
    RecordingFinished,
    StasisStart,
)
from receptionist.audio.clock import PlayoutClock
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.server import (
    AudioSocketClosed,
    AudioSocketConnection,
    AudioSocketServer,
)
from receptionist.business import Business, build_instructions
from receptionist.business.languages import call_language
from receptionist.caller_audio import pump_caller_audio
from receptionist.conversation import Conversation
from receptionist.counters import COUNTERS
from receptionist.logs import call_id_var, log
from receptionist.realtime import RealtimeSession, RealtimeUnavailable, SessionConfig
from receptionist.settings import Settings
from receptionist.store import AsyncStore
from receptionist.tools import CallTools

logger = logging.getLogger(__name__)

MEDIA_PREFIX = "rx-media-"
LEG_CONNECT_TIMEOUT = 3.0
MODEL_CONNECT_TIMEOUT = 8.0

SessionFactory = Callable[[SessionConfig, Business], RealtimeSession]


@dataclass
class CallDeps:
    """What every call shares: built once by the app."""

    settings: Settings
    ari: AriClient
    audiosocket: AudioSocketServer
    store: AsyncStore
    new_session: SessionFactory | None  # None: no model configured, every call falls back
    app_name: str
    audiosocket_address: str  # host:port Asterisk connects to for the media leg
    # "slin16", or "slin" (8 kHz) on Asterisk versions without slin16; "auto" until the
    # app has asked Asterisk its version.
    leg_format: str = "auto"
    playout_clock: PlayoutClock = field(default_factory=PlayoutClock)  # shared by all calls


class Call:
    """One caller's time with the receptionist, from StasisStart to leaving Stasis."""

    def __init__(
        self, deps: CallDeps, start: StasisStart, business: Business, *, returning: str = ""
    ) -> None:
        self.deps = deps
        self.channel: Channel = start.channel
        self.id = start.channel.id
        self.business = business
        self.returning = returning  # e.g. "NOANSWER" when a transfer came back
        self.returning_from = ""  # the department that did not answer
        self.media_id = f"{MEDIA_PREFIX}{uuid.uuid4().hex}"
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.bridge_id: str | None = None
        self.leg: AudioSocketConnection | None = None
        self.model: RealtimeSession | None = None
        self.writer: PacedWriter | None = None
        self.conversation: Conversation | None = None
        self.recording: str | None = None
        self.answered_at = 0.0
        self.first_audio_s: float | None = None  # answer -> first model audio sent
        self.end_reason = ""
        self._done = asyncio.Event()
        self._handed_off = False  # the caller left Stasis on purpose: do not hang up
        self._media_started = asyncio.Event()
        self.recording_done: asyncio.Future[Recording] = asyncio.get_running_loop().create_future()
        self._tasks: list[asyncio.Task[None]] = []
        self._rescue: set[asyncio.Task[None]] = set()
        self.tools = CallTools(
            business, deps.store, self.id, caller_number=start.channel.caller_number
        )

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        call_id_var.set(self.id)
        ari, store = self.deps.ari, self.deps.store
        log(logger, logging.INFO, "call started", business=self.business.slug,
            caller=self.channel.caller_number, returning=self.returning or None)  # fmt: skip
        try:
            if not self.returning:
                await store.start_call(
                    self.id, self.business.slug, self.channel.caller_number, self.channel.id
                )
            else:
                COUNTERS.transfers[f"returned_{self.returning.lower()}"] += 1
                await store.add_outcome(self.id, "transfer_failed")
                self.returning_from = (
                    await ari.get_variable(self.id, "RECEPTIONIST_TRANSFER_DEPARTMENT")
                    or "the department"
                )
            if self.deps.new_session is None:
                await self.fallback("model_not_configured")
                return
            if self.channel.state != "Up":
                await ari.answer(self.id)
            self.answered_at = time.monotonic()
            bridge = await ari.create_bridge("mixing", name=f"rx-{self.id}")
            self.bridge_id = bridge.id
            await ari.add_channel(bridge.id, self.id)
            # Model and media leg come up together: each takes a round trip or two.
            leg_task = asyncio.create_task(self._open_leg())
            try:
                self.model = await self._open_model()
            except RealtimeUnavailable as exc:
                leg_task.cancel()
                await asyncio.gather(leg_task, return_exceptions=True)
                log(logger, logging.WARNING, "model unavailable", reason=str(exc))
                await self.fallback("model_unavailable")
                return
            self.leg = await leg_task
            await self._converse()
        except AriError as exc:
            # Asterisk refused a step: the call can't be run here, hand it back.
            log(logger, logging.ERROR, "ari call failed", error=str(exc))
            await self.fallback("ari_error")
        except (TimeoutError, AudioSocketClosed) as exc:
            log(logger, logging.ERROR, "media leg failed", error=repr(exc))
            await self.fallback("media_failed")
        except sqlite3.Error as exc:
            # Without a call log we cannot keep our promises (messages): a person can.
            log(logger, logging.ERROR, "call log unavailable", error=repr(exc))
            await self.fallback("store_error")
        finally:
            await self._teardown()

    async def _open_model(self) -> RealtimeSession:
        assert self.deps.new_session is not None
        # RECEPTIONIST_LANGUAGE: the dialplan's choice (by DID); None lets the model detect it.
        requested = await self.deps.ari.get_variable(self.id, "RECEPTIONIST_LANGUAGE")
        language = call_language(self.business.languages, requested)
        self.tools.speak_in(language)
        config = SessionConfig(
            instructions=build_instructions(self.business, datetime.now(UTC), language),
            tools=self.tools.schemas(),
            voice=self.business.voice.voice,
            transcription_language=language,
        )
        session = self.deps.new_session(config, self.business)
        await session.connect(timeout=MODEL_CONNECT_TIMEOUT)
        return session

    async def _open_leg(self) -> AudioSocketConnection:
        """Register the UUID, ask ARI for the AudioSocket leg, bridge it on its StasisStart."""
        deps = self.deps
        leg_uuid = uuid.uuid4()
        connected = deps.audiosocket.register(leg_uuid, call_id=self.id)
        try:
            await deps.ari.external_media(
                app=deps.app_name,
                host=deps.audiosocket_address,
                data=str(leg_uuid),
                fmt="slin16" if deps.leg_format == "slin16" else "slin",
                channel_id=self.media_id,
            )
            # Adding the leg before its own StasisStart can fail silently (no audio).
            await asyncio.wait_for(self._media_started.wait(), LEG_CONNECT_TIMEOUT)
            assert self.bridge_id is not None
            await deps.ari.add_channel(self.bridge_id, self.media_id)
            return await asyncio.wait_for(connected, LEG_CONNECT_TIMEOUT)
        finally:
            deps.audiosocket.unregister(leg_uuid)

    async def _converse(self) -> None:
        assert self.model is not None and self.leg is not None
        rate = 16000 if self.deps.leg_format == "slin16" else 8000
        leg = self.leg

        def send(frame: bytes) -> None:
            leg.send_audio(frame, rate)

        self.writer = PacedWriter(
            send,
            rate=rate,
            on_first_frame=self._on_first_frame,
            playout_clock=self.deps.playout_clock,
        )
        self.vad = SpeechDetector(rate)
        self.conversation = Conversation(self, rate)
        self.spawn(self.writer.run(), "writer")
        self.spawn(self._caller_audio(rate), "caller-audio")
        self.spawn(self.conversation.run(), "model-events")
        self.spawn(self._watch_ari(), "ari-events")
        self.spawn(self.conversation.watch_time_and_silence(), "timers")
        self.conversation.greet()
        await self._done.wait()
        log(logger, logging.INFO, "call ending", reason=self.end_reason)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=f"{name}:{self.id}")
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log(logger, logging.ERROR, "call task failed", task=task.get_name(), error=repr(exc))
            if not self._done.is_set():
                # A broken piece must not leave the caller in silence.
                self.background(self.fallback("internal_error"))

    def background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` on its own (kept referenced until done), e.g. from a callback."""
        task = asyncio.create_task(coro)
        self._rescue.add(task)
        task.add_done_callback(self._rescue.discard)

    def finish(self, reason: str) -> None:
        """End the conversation (tasks stop, teardown runs)."""
        if not self._done.is_set():
            self.end_reason = reason
            self._done.set()

    # ------------------------------------------------------------------ tasks
    async def _caller_audio(self, rate: int) -> None:
        assert self.leg is not None and self.model is not None
        await pump_caller_audio(self.leg, self.model, self.vad, rate, self._on_dtmf)
        self.finish("caller_hangup" if not self._handed_off else self.end_reason)

    def _on_dtmf(self, digit: str) -> None:
        log(logger, logging.INFO, "caller dtmf", digit=digit)
        if digit == "0":  # the universal "get me a person"
            self.background(self.fallback("caller_pressed_0"))

    async def _watch_ari(self) -> None:
        while True:
            event = await self.events.get()
            if event.type in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"):
                if event.channel_id == self.id:
                    if not self._handed_off:
                        await self.deps.store.add_outcome(self.id, "caller_hangup")
                    self.finish("caller_left")
                elif event.channel_id == self.media_id and event.type != "StasisEnd":
                    self.finish("media_leg_gone")

    def _on_first_frame(self, item_id: str, at: float) -> None:
        if self.conversation is not None and not self.conversation.greeted_at:
            self.conversation.greeted_at = at
            self.first_audio_s = at - self.answered_at
            ms = round(self.first_audio_s * 1000)
            log(logger, logging.INFO, "first model audio sent", answer_to_audio_ms=ms)

    # ------------------------------------------------------------------ endings
    async def hang_up(self) -> None:
        await self.deps.store.add_outcome(self.id, "completed")
        await self.deps.ari.hangup(self.id)
        self.finish("hangup")

    async def fallback(self, reason: str) -> None:
        """Hand the caller to the dialplan fallback (prompt, operator, voicemail)."""
        if self._handed_off:
            return
        self._handed_off = True
        COUNTERS.fallbacks[reason] += 1
        log(logger, logging.WARNING, "handing call to fallback", reason=reason)
        # Logged before leaving Stasis: once the caller leaves, StasisEnd ends this call's
        # tasks, and a write still waiting to be made would be lost.
        await self._log_outcomes("fallback", reason)
        try:
            await self.deps.ari.set_variable(self.id, "RECEPTIONIST_FALLBACK_REASON", reason)
            await self.deps.ari.continue_in_dialplan(self.id, "receptionist-fallback", "s")
        except AriError as exc:
            # The channel is gone or left Stasis: nobody is waiting on the line.
            log(logger, logging.WARNING, "fallback not possible", error=str(exc))
        self.finish(reason)

    async def _log_outcomes(self, *outcomes: str) -> None:
        """Record outcomes; a failing call log is logged, never a reason to drop a caller."""
        try:
            for outcome in outcomes:
                await self.deps.store.add_outcome(self.id, outcome)
        except sqlite3.Error as exc:
            log(logger, logging.ERROR, "outcome not logged", outcomes=outcomes, error=repr(exc))

    async def transfer(self, target: str, department: str) -> None:
        """Leave Stasis into [receptionist-transfer]; it dials `target` (from the YAML)."""
        ari = self.deps.ari
        self._handed_off = True
        # Logged first, as in fallback(): leaving Stasis ends this call's tasks.
        COUNTERS.transfers["dialled"] += 1
        await self._log_outcomes("transferred")
        log(logger, logging.INFO, "transferring call", department=department, target=target)
        try:
            await ari.set_variable(self.id, "RECEPTIONIST_TRANSFER_TARGET", target)
            await ari.set_variable(self.id, "__RECEPTIONIST_TRANSFER_DEPARTMENT", department)
            await ari.continue_in_dialplan(self.id, "receptionist-transfer", "s")
        except AriError as exc:
            COUNTERS.transfers["error"] += 1
            log(logger, logging.ERROR, "transfer failed", error=str(exc))
            self._handed_off = False
            await self.fallback("transfer_error")
            return
        self.finish("transferred")

    async def start_recording(self) -> None:
        """Record the call's bridge: one file with both parties (MixMonitor semantics).

        ARI bridge recording rather than AMI MixMonitor: our mixing bridge already holds
        exactly the caller and the receptionist, so recording it needs no second protocol
        (AMI) with its own credentials, and it ends with the bridge. A transferred call
        leaves the bridge, so the caller's talk with staff is not recorded by us.
        """
        if self.bridge_id is None or self.recording is not None:
            return
        name = f"call-{self.id.replace('.', '-')}"
        try:
            await self.deps.ari.record_bridge(self.bridge_id, name)
        except AriError as exc:
            # The caller still deserves an answer: go on unrecorded, and say so in the log.
            log(logger, logging.ERROR, "recording failed", error=str(exc))
            await self.deps.store.add_outcome(self.id, "recording_failed")
            return
        self.recording = name
        log(logger, logging.INFO, "recording started", name=name)

    async def _teardown(self) -> None:
        self.finish(self.end_reason or "ended")
        for task in self._tasks:
            task.cancel()
        # Failures were logged by _task_done; here we only wait for the tasks to stop.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        ari, store = self.deps.ari, self.deps.store
        if self.recording is not None:
            await _quietly(ari.stop_recording(self.recording))
            duration = None
            with contextlib.suppress(TimeoutError):
                duration = (await asyncio.wait_for(self.recording_done, 3)).duration
            path = self.deps.settings.recordings_dir / f"{self.recording}.wav"
            await store.add_recording(self.id, str(path), duration)
        if self.model is not None:
            await self.model.close()
        if self.leg is not None:
            self.leg.hangup()
        await _quietly(ari.hangup(self.media_id))
        if self.bridge_id is not None:
            await _quietly(ari.destroy_bridge(self.bridge_id))
        if not self._handed_off:
            await _quietly(ari.hangup(self.id))
        try:
            await store.end_call(self.id)
        except sqlite3.Error as exc:
            log(logger, logging.ERROR, "call end not logged", error=repr(exc))
        log(logger, logging.INFO, "call ended", reason=self.end_reason)

    def on_event(self, event: Event) -> None:
        """Called by the app, in ARI order, for events about this call's channels."""
        if isinstance(event, StasisStart) and event.channel.id == self.media_id:
            self._media_started.set()
        elif isinstance(event, RecordingFinished):
            if not self.recording_done.done():
                self.recording_done.set_result(event.recording)
        else:
            self.events.put_nowait(event)


async def _quietly(step: Awaitable[None]) -> None:
    """Best-effort cleanup: the thing may already be gone, which is fine."""
    try:
        await step
    except AriError as exc:
        log(logger, logging.DEBUG, "cleanup step failed", error=str(exc))
