"""The call flow: one `Call` per call, owning its tasks, with one teardown.

    StasisStart -> call row -> ring while the model session (short handshake deadline)
      and the AudioSocket leg come up -> answer -> caller into the bridge -> greet
      -> converse (turn rules in receptionist.turns, carried out by conversation.py)
      -> end: hangup, transfer ([receptionist-transfer]) or fallback
         ([receptionist-fallback]); then release leg, model, bridge; close the row.

Failure policy: a model, media, ARI or call-log failure never leaves the caller in dead
air; any path that cannot go on hands the caller to the dialplan fallback (Asterisk plays
it). A dead model costs ring time, not silence: the call is answered only once the model
is ready. This class is the one writer of outcomes; every path closes the row with one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from receptionist.ari import AriError, Channel, Event, RecordingFinished, StasisStart
from receptionist.ari.cleanup import quietly
from receptionist.audio.filler import filler_pcm
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.server import AudioSocketClosed, AudioSocketConnection
from receptionist.business import Business, Department
from receptionist.business.languages import spoken_in
from receptionist.call.caller_audio import pump_caller_audio
from receptionist.call.conversation import Conversation
from receptionist.call.dialplan import MEDIA_PREFIX, hand_to_fallback
from receptionist.call.handoff.blind import blind_transfer
from receptionist.call.handoff.keypad import keypad_commands
from receptionist.call.handoff.warm import WarmParty, WarmTransfer
from receptionist.call.recording import CallRecorder
from receptionist.call.setup import CallDeps, LegFormat, Media, StasisArgs, greeting, open_model
from receptionist.call.transcript_clock import log_answer
from receptionist.call.transfer_check import phone_refusal
from receptionist.call.usage import call_usage, save_usage
from receptionist.core.counters import COUNTERS
from receptionist.core.logs import call_id_var, log
from receptionist.core.outcomes import FINAL_OUTCOMES, EndReason, FallbackReason, Outcome
from receptionist.model import ModelSession
from receptionist.realtime import RealtimeUnavailable
from receptionist.store.log import StoreError
from receptionist.store.records import CallOwner
from receptionist.tools.handoff import HandoffTools
from receptionist.turns.events import Speaker, TransferRequest
from receptionist.turns.machine import Turns

logger = logging.getLogger(__name__)

LEG_CONNECT_TIMEOUT = 3.0
# Audio sent the instant a call is answered can be lost while the caller's media comes up
# (why Asterisk's Answer() takes a delay); the greeting is still asked for at once.
ANSWER_SETTLE_S = 0.25
_LEAVING = ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest")


class Call:
    """One caller's time with the receptionist, from StasisStart to leaving Stasis."""

    def __init__(
        self,
        deps: CallDeps,
        start: StasisStart,
        business: Business,
        args: StasisArgs,
        *,
        owner: CallOwner | None = None,  # who has the call, written on its row
    ) -> None:
        self.deps = deps
        self.owner = owner
        self.channel: Channel = start.channel
        self.id = start.channel.id
        self.business = business
        self.args = args
        self.media_id = f"{MEDIA_PREFIX}{uuid.uuid4().hex}"
        self.staff_id = f"{MEDIA_PREFIX}staff-{uuid.uuid4().hex}"  # only for a warm transfer
        self.whisper_id = f"{MEDIA_PREFIX}whisper-{uuid.uuid4().hex}"  # its whisper's leg
        self.warm: WarmTransfer | None = None
        # What teardown releases, each set as soon as it exists (setup may stop halfway);
        # the call itself runs on `media`, set once all of it is up.
        self.bridge_id: str | None = None
        self.leg: AudioSocketConnection | None = None
        self.model: ModelSession | None = None
        self.media: Media | None = None
        self.conversation: Conversation | None = None
        self.recorder = CallRecorder(deps.ari, self.id, deps.settings.recordings_dir,
                                     business.recording.mode)  # fmt: skip
        self.returning_from = "the department"  # after a transfer nobody answered
        self.answered_at = 0.0
        self.turn_offset_ms = 0  # a caller back from a transfer: onto the first answer's clock
        self.first_audio_s: float | None = None  # answer -> first model audio sent
        self.end_reason: EndReason | FallbackReason | None = None
        self.outcomes: set[Outcome] = set()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._done = asyncio.Event()
        self._handed_off = False  # the caller left Stasis on purpose: do not hang up
        self._media_started = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.tools = HandoffTools(
            business, deps.store, self.id, caller_number=start.channel.caller_number
        )

    # ------------------------------------------------------------------ the call's life
    async def run(self, leg_format: LegFormat) -> None:
        call_id_var.set(self.id)
        log(logger, logging.INFO, "call started", business=self.business.slug,
            caller=self.channel.caller_number, returning=self.args.dial_status or None)  # fmt: skip
        try:
            await self._open_row()
            new_session = self.deps.new_session
            if new_session is None:
                await self.fallback(FallbackReason.MODEL_NOT_CONFIGURED)
                return
            if self.channel.state != "Up":
                await quietly(self.deps.ari.ring(self.id))
            # Model and media leg come up together, while the caller hears ring.
            leg_task = asyncio.create_task(self._open_leg(leg_format))
            try:
                model = self.model = await open_model(self.deps.ari, self.id, self.tools,
                                                      new_session)  # fmt: skip
            except RealtimeUnavailable as exc:
                leg_task.cancel()
                await asyncio.gather(leg_task, return_exceptions=True)
                log(logger, logging.WARNING, "model unavailable", reason=str(exc))
                await self.fallback(FallbackReason.MODEL_UNAVAILABLE)
                return
            bridge_id, leg, writer = await leg_task
            media = self.media = Media(bridge_id, leg, writer, model, leg_format)
            if self.channel.state != "Up":  # answered once the model and the leg are up
                await self.deps.ari.answer(self.id)
            self.answered_at = self.deps.clock()
            writer.hold_audio(ANSWER_SETTLE_S)  # see ANSWER_SETTLE_S
            await self.deps.ari.add_channel(bridge_id, self.id)
            await self._converse(media)
        except AriError as exc:  # Asterisk refused a step: hand the call back
            log(logger, logging.ERROR, "ari call failed", error=str(exc))
            await self.fallback(FallbackReason.ARI_ERROR)
        except (TimeoutError, AudioSocketClosed) as exc:
            log(logger, logging.ERROR, "media leg failed", error=repr(exc))
            await self.fallback(FallbackReason.MEDIA_FAILED)
        except StoreError as exc:
            # Without a call log we cannot keep our promises (messages): a person can.
            log(logger, logging.ERROR, "call log unavailable", error=repr(exc))
            await self.fallback(FallbackReason.STORE_ERROR)
        finally:
            await self._teardown()

    async def _open_row(self) -> None:
        store, channel = self.deps.store, self.channel
        if not self.args.returning:
            await store.start_call(self.id, self.business.slug, channel.caller_number, channel.id,
                                   owner=self.owner)  # fmt: skip
        else:
            COUNTERS.transfers[f"returned_{self.args.dial_status.lower()}"] += 1
            await self.record_outcome(Outcome.TRANSFER_FAILED)
            ari, name = self.deps.ari, "RECEPTIONIST_TRANSFER_DEPARTMENT"
            self.returning_from = await ari.get_variable(self.id, name) or self.returning_from

    async def _open_leg(
        self, leg_format: LegFormat
    ) -> tuple[str, AudioSocketConnection, PacedWriter]:
        """A bridge with the AudioSocket leg in it (added on its own StasisStart), and the
        writer sending on it from the first moment.

        Asterisk's AudioSocket channel can be asked to read when no frame has come (its
        channel lock held while it waits for one), and every ARI request that looks a
        channel up by id waits on that lock: a leg we fall quiet on stalls the whole PBX's
        ARI. So from connection to hang-up the leg never goes without a frame for long.
        """
        ari = self.deps.ari
        # Its id is known before the request (see WhisperLeg.open).
        bridge_id = self.bridge_id = str(uuid.uuid4())
        await ari.create_bridge("mixing", name=f"rx-{self.id}", bridge_id=bridge_id)
        leg_uuid = uuid.uuid4()
        connected = self.deps.audiosocket.register(leg_uuid, call_id=self.id)
        try:
            await ari.external_media(
                app=self.deps.app_name,
                host=self.deps.audiosocket_address,
                data=str(leg_uuid),
                fmt=leg_format.value,
                channel_id=self.media_id,
            )
            # Adding the leg before its own StasisStart can fail silently (no audio).
            # asyncio.timeout, not wait_for (see WhisperLeg.open).
            async with asyncio.timeout(LEG_CONNECT_TIMEOUT):
                await self._media_started.wait()
            await ari.add_channel(bridge_id, self.media_id)
            async with asyncio.timeout(LEG_CONNECT_TIMEOUT):
                leg = self.leg = await connected
        finally:
            self.deps.audiosocket.unregister(leg_uuid)
        rate = leg_format.rate
        send = functools.partial(leg.send_audio, rate=rate)  # no Python frame of ours per frame
        # keepalive: audio every 20 ms until hang-up (see audio/writer.py).
        writer = PacedWriter(send, rate=rate, playout_clock=self.deps.playout_clock, keepalive=True)
        self.spawn(writer.run(), "writer")  # runs from the leg's connection to its end
        return bridge_id, leg, writer

    async def _converse(self, media: Media) -> None:
        consent = self.business.recording
        turns = Turns(
            consent_text=consent.consent_text if consent.enabled else None,
            limits=self.deps.turn_limits,
            keypad=keypad_commands(self.business),
        )
        conversation = self.conversation = Conversation(
            media.model, media.writer, media.rate, control=self, transcript=self,
            tools=self.tools, turns=turns, filler=filler_pcm(media.rate, self.tools.language),
            clock=self.deps.clock,
        )  # fmt: skip
        answered = datetime.now(UTC)  # the transcript clock's origin (transcript_clock.py)
        self.spawn(self._caller_audio(media, conversation), "caller-audio")
        self.spawn(conversation.run(), "model-events")
        self.spawn(self._watch_ari(), "ari-events")
        text = greeting(self.business, self.args, self.returning_from)
        # A caller back from a transfer heard the consent before it left.
        conversation.greet(spoken_in(text, self.tools.call_language),
                           consent=not self.args.returning)  # fmt: skip
        try:  # after the greeting is asked for: the caller never waits on this
            self.turn_offset_ms = await log_answer(
                self.deps.store, self.id, answered, self.args.returning
            )
        except StoreError as exc:
            log(logger, logging.ERROR, "answer time not logged", error=repr(exc))
        await self._done.wait()
        log(logger, logging.INFO, "call ending", reason=self.end_reason)

    async def _caller_audio(self, media: Media, conversation: Conversation) -> None:
        vad = SpeechDetector(media.rate)
        await pump_caller_audio(
            media.leg, media.model, vad, media.rate, conversation.on_dtmf,
            on_voice=conversation.on_caller_voice, clock=self.deps.clock,
            after_frame=self.deps.playout_clock.catch_up,
        )  # fmt: skip
        if not self._handed_off:
            await self.record_outcome(Outcome.CALLER_HANGUP)
        self.finish(EndReason.CALLER_LEFT)

    async def _watch_ari(self) -> None:
        while True:
            event = await self.events.get()
            if event.type not in _LEAVING:
                continue
            if event.channel_id == self.id:
                if event.type == "StasisEnd" and self.recorder.detouring:
                    continue  # off to start MixMonitor, and coming back (recording.py)
                if not self._handed_off:
                    await self.record_outcome(Outcome.CALLER_HANGUP)
                self.finish(EndReason.CALLER_LEFT)
            elif event.channel_id == self.media_id and event.type != "StasisEnd":
                await self.fallback(FallbackReason.MEDIA_FAILED)

    # ------------------------------------------------------------------ CallControl
    async def hang_up(self) -> None:
        await self.record_outcome(Outcome.COMPLETED)
        await self.deps.ari.hangup(self.id)
        self.finish(EndReason.HANGUP)

    async def fallback(self, reason: FallbackReason) -> None:
        """Hand the caller to the dialplan fallback (prompt, operator, voicemail)."""
        if self._handed_off:
            return
        self._handed_off = True
        COUNTERS.fallbacks[reason] += 1
        log(logger, logging.WARNING, "handing call to fallback", reason=reason)
        # Recorded before leaving Stasis: once the caller leaves, StasisEnd ends this
        # call's tasks, and a write still waiting to be made would be lost.
        await self.record_outcome(Outcome.FALLBACK, reason)
        await self._follow("operator", None)
        await hand_to_fallback(self.deps.ari, self.id, reason)
        self.finish(reason)

    async def transfer(self, request: TransferRequest) -> None:
        """Leave Stasis into [receptionist-transfer]; it dials the YAML's target."""
        ari, department = self.deps.ari, request.department
        self._handed_off = True
        COUNTERS.transfers["voicemail" if request.voicemail else "dialled"] += 1
        # First, as in fallback().
        await self.record_outcome(Outcome.VOICEMAIL if request.voicemail else Outcome.TRANSFERRED)
        log(logger, logging.INFO, "transferring call", department=department.name,
            target=department.dial_string)  # fmt: skip
        await self._follow("voicemail" if request.voicemail else "transfer", department)
        media = self.media
        if department.mode == "warm" and not request.voicemail and media is not None:
            await self._warm(request, media)
            return
        try:
            await blind_transfer(ari, self.id, self.business, request)
        except AriError as exc:
            COUNTERS.transfers["error"] += 1
            log(logger, logging.ERROR, "transfer failed", error=str(exc))
            self._handed_off = False
            await self.fallback(FallbackReason.TRANSFER_ERROR)
            return
        self.finish(EndReason.TRANSFERRED)

    async def _warm(self, request: TransferRequest, media: Media) -> None:
        party = WarmParty(self.deps, self.id, self.channel.caller_number, self.staff_id,
                          self.whisper_id, media.bridge_id, media.leg_format.value,
                          media.rate)  # fmt: skip
        self.warm = WarmTransfer(party, request, self.business)
        result = await self.warm.run()
        if result == "failed":
            self._handed_off = False
            await self.fallback(FallbackReason.TRANSFER_ERROR)
            return
        self._handed_off = result != "answered"  # staff left: the caller's call is over
        self.finish(EndReason.TRANSFERRED)

    async def _follow(self, kind: str, department: Department | None) -> None:
        """Keep learning what happens to the caller once it leaves Stasis (the call log)."""
        if self.deps.follower is not None:
            await self.deps.follower.follow(self.id, self.id, kind, department)

    async def transfer_refusal(self, request: TransferRequest) -> str:
        """Why the department's phone cannot take the call now ("" if it can)."""
        refusal = await phone_refusal(self.deps.ari, request.department)
        if refusal:
            self.tools.transfer_refused()  # never transferred: not counted in max_transfers
        return refusal

    async def start_recording(self) -> None:
        if self.bridge_id is not None and not await self.recorder.start(self.bridge_id):
            await self.record_outcome(Outcome.RECORDING_FAILED)

    async def record_outcome(self, *outcomes: Outcome | FallbackReason) -> None:
        """The one writer of outcomes. A failing call log is logged, never a reason to
        drop a caller."""
        try:
            for outcome in outcomes:
                if isinstance(outcome, Outcome):
                    self.outcomes.add(outcome)
                await self.deps.store.add_outcome(self.id, outcome)
        except StoreError as exc:
            log(logger, logging.ERROR, "outcome not logged", outcomes=outcomes, error=repr(exc))

    async def add_turn(self, speaker: Speaker, text: str, start_ms: int, end_ms: int) -> None:
        """The TranscriptSink: one line of the call log."""
        try:
            offset = self.turn_offset_ms  # see transcript_clock.py
            await self.deps.store.add_turn(
                self.id, speaker, text, start_ms + offset, end_ms + offset
            )
        except StoreError as exc:
            log(logger, logging.ERROR, "transcript line not logged", error=repr(exc))

    # ------------------------------------------------------------------ the end
    def finish(self, reason: EndReason | FallbackReason) -> None:
        """End the conversation (tasks stop, teardown runs)."""
        if not self._done.is_set():
            self.end_reason = reason
            self._done.set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=f"{name}:{self.id}")
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or (exc := task.exception()) is None:
            return
        log(logger, logging.ERROR, "call task failed", task=task.get_name(), error=repr(exc))
        if not self._done.is_set():
            # A broken piece must not leave the caller in silence.
            self.spawn(self.fallback(FallbackReason.INTERNAL_ERROR), "fallback")

    async def _teardown(self) -> None:
        self.finish(self.end_reason or EndReason.ENDED)
        conversation = self.conversation
        if conversation is not None:
            await conversation.close()  # what was still playing is logged as cut off
            if conversation.first_audio_at is not None and self.answered_at:
                self.first_audio_s = conversation.first_audio_at - self.answered_at
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.leg is not None:
            self.leg.hangup()  # at once: the writer has stopped (see _open_leg)
        ari, store = self.deps.ari, self.deps.store
        if not self.outcomes & FINAL_OUTCOMES:
            # Every row says how the call ended, whatever path got here.
            await self.record_outcome(Outcome.ENDED)
        await self.recorder.finish(store)
        if self.model is not None:
            await self.model.close()
            settings = self.deps.settings
            await save_usage(store, call_usage(self.id, settings, self.business, self.model))
        await quietly(ari.hangup(self.media_id))
        if self.bridge_id is not None:
            await quietly(ari.destroy_bridge(self.bridge_id))
        if self.warm is not None:
            await quietly(ari.hangup(self.staff_id))
        if not self._handed_off:
            await quietly(ari.hangup(self.id))
        try:
            await store.end_call(self.id)
        except StoreError as exc:
            log(logger, logging.ERROR, "call end not logged", error=repr(exc))
        sent, received = (self.leg.frames_out, self.leg.frames_in) if self.leg else (0, 0)
        log(logger, logging.INFO, "call ended", reason=self.end_reason, frames_in=received,
            frames_out=sent)  # fmt: skip

    def on_event(self, event: Event) -> None:
        """Called by the app, in ARI order, for events about this call's channels."""
        if self.warm is not None and event.channel_id in (self.staff_id, self.whisper_id):
            self.warm.on_event(event)
        elif isinstance(event, StasisStart) and event.channel.id == self.media_id:
            self._media_started.set()
        elif isinstance(event, StasisStart) and event.channel.id == self.id:
            self.recorder.resumed.set()
        elif isinstance(event, RecordingFinished):
            self.recorder.finished(event.recording)
        else:
            self.events.put_nowait(event)
