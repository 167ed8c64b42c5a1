"""The model side of a call: model events in, audio to the writer, tools, barge-in.

Side effects the model asks for (transfer, hang up) wait until the response that
asked for them has finished playing; if the caller interrupted that response,
they are dropped. A hangup from an interrupted reply must never cut off a caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from receptionist.audio.resample import model_to_caller
from receptionist.logs import log
from receptionist.realtime import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    ResponseDone,
    SessionClosed,
    SpeechStarted,
    SpeechStopped,
)
from receptionist.tools import HangupRequest, TransferRequest

if TYPE_CHECKING:
    from receptionist.call import Call

logger = logging.getLogger(__name__)

GOODBYE_GRACE_S = 10.0  # after asking for a goodbye, hang up ourselves if the model does not


class Conversation:
    def __init__(self, call: Call, leg_rate: int) -> None:
        self.call = call
        assert call.model is not None and call.writer is not None
        self.model = call.model
        self.writer = call.writer
        self.downsample = model_to_caller(leg_rate)
        self.greeted_at = 0.0
        self._response_items: dict[str, list[str]] = {}  # response -> its audio items
        self._item_response: dict[str, str] = {}
        self._pending: dict[str, TransferRequest | HangupRequest] = {}
        self._caller_started_ms: dict[str, int] = {}
        self._consent_response: str | None = None
        self._wants_consent = call.business.recording.enabled

    def _ms(self) -> int:
        """Milliseconds since the call was answered: the transcript's clock."""
        return round((time.monotonic() - self.call.answered_at) * 1000)

    # ------------------------------------------------------------------ prompts
    def greet(self) -> None:
        business = self.call.business
        if self.call.returning:
            text = (
                f"The caller was transferred to {self.call.returning_from} but nobody "
                f"answered ({self.call.returning}). Apologise briefly and offer to take a "
                "message."
            )
        else:
            text = f"Greet the caller now, saying: {business.greeting}"
            if self._wants_consent:
                text = (
                    f'First say exactly: "{business.recording.consent_text}" '
                    f"Then greet the caller, saying: {business.greeting}"
                )
        self.model.request_response(instructions=text)

    def check_in(self) -> None:
        log(logger, logging.INFO, "caller silent: checking in")
        self.model.request_response(
            instructions="The caller has been silent. Briefly ask if they are still there."
        )

    def say_goodbye(self, why: str) -> None:
        self.model.request_response(
            instructions=f"{why} Say a short, polite goodbye now, then call end_call."
        )

    async def watch_time_and_silence(self) -> None:
        """The maximum call length, and a spoken check-in when the caller goes silent
        (caller speech detected locally), then a goodbye if the silence goes on."""
        call, settings = self.call, self.call.deps.settings
        deadline = call.answered_at + settings.max_call_seconds
        checked_in = False
        why = "The call has reached its time limit."
        while True:
            await asyncio.sleep(1.0)
            if time.monotonic() > deadline:
                log(logger, logging.INFO, "maximum call length reached")
                await call.deps.store.add_outcome(call.id, "max_duration")
                break
            busy = self.writer.current_item is not None or self.model.current_response_id
            if busy or call.vad.speaking:
                continue
            if call.vad.ms_since_speech > settings.silence_timeout_seconds * 1000:
                if not checked_in:
                    checked_in = True
                    call.vad.reset_silence()
                    self.check_in()
                else:
                    await call.deps.store.add_outcome(call.id, "caller_silent")
                    why = "The caller stayed silent."
                    break
        # The model says goodbye and should call end_call; if it does not, the line
        # still closes once the goodbye has played.
        self.say_goodbye(why)
        await asyncio.sleep(GOODBYE_GRACE_S)
        if self.writer.current_item is not None:
            await self.writer.wait_done(self.writer.current_item)
        log(logger, logging.INFO, "no end_call after the goodbye: hanging up")
        await call.hang_up()

    # ------------------------------------------------------------------ events
    async def run(self) -> None:
        async for event in self.model.events():
            if isinstance(event, AudioDelta):
                self._on_audio(event)
            elif isinstance(event, SpeechStarted):
                self._on_barge_in(event)
            elif isinstance(event, SpeechStopped):
                pass
            elif isinstance(event, CallerTranscript):
                start = self._caller_started_ms.pop(event.item_id, self._ms())
                await self.call.deps.store.add_turn(
                    self.call.id, "caller", event.text, start, self._ms()
                )
            elif isinstance(event, AssistantTranscript):
                await self._on_assistant_transcript(event)
            elif isinstance(event, FunctionCall):
                await self._on_function_call(event)
            elif isinstance(event, ResponseDone):
                await self._on_response_done(event)
            elif isinstance(event, ModelError):
                log(logger, logging.WARNING, "model error", message=event.message,
                    code=event.code)  # fmt: skip
            elif isinstance(event, SessionClosed):
                if not self.call.end_reason:
                    log(logger, logging.WARNING, "model session dropped", reason=event.reason)
                    await self.call.fallback("model_dropped")
                return

    def _on_audio(self, event: AudioDelta) -> None:
        if self.model.is_interrupted(event.response_id):
            return
        items = self._response_items.setdefault(event.response_id, [])
        if event.item_id not in items:
            items.append(event.item_id)
            self._item_response[event.item_id] = event.response_id
        pcm = self.downsample.process(event.pcm24)
        if pcm:
            self.writer.write(event.item_id, pcm)

    def _on_barge_in(self, event: SpeechStarted) -> None:
        self._caller_started_ms[event.item_id] = self._ms()
        self.call.vad.reset_silence()
        playout = self.writer.clear()
        self.downsample.reset()
        if playout is None:
            return
        # The model's context must hold only what the caller actually heard.
        self.model.truncate(playout.item_id, 0, playout.played_ms)
        self.model.cancel_response()
        # The reply may have finished generating already; it was still cut short, so any
        # transfer or hangup it asked for must not run.
        response_id = self._item_response.get(playout.item_id)
        if response_id is not None:
            self.model.mark_interrupted(response_id)
        log(logger, logging.INFO, "barge-in", item=playout.item_id, heard_ms=playout.played_ms)

    async def _on_assistant_transcript(self, event: AssistantTranscript) -> None:
        heard = self.writer.played_ms(event.item_id)
        text = event.text
        if self.model.is_interrupted(event.response_id):
            text += " [interrupted]"
        end = self._ms()
        await self.call.deps.store.add_turn(self.call.id, "assistant", text, end - heard, end)

    # ------------------------------------------------------------------ tools
    async def _on_function_call(self, event: FunctionCall) -> None:
        outcome = await self.call.tools.call(event.name, event.arguments)
        action = outcome.action
        if action is None:
            self.model.send_function_output(event.call_id, outcome.output)
            return
        if isinstance(action, TransferRequest):
            refusal = await self._transfer_refusal(action)
            if refusal:
                self.call.tools.transfer_refused()
                self.model.send_function_output(event.call_id, refusal)
                return
        # Acted on once this response has played out, unless the caller interrupts it.
        self._pending[event.response_id] = action
        self.model.send_function_output(event.call_id, outcome.output, respond=False)

    async def _transfer_refusal(self, action: TransferRequest) -> str:
        department = action.department
        if department.device:
            tech, _, resource = department.device.partition("/")
            state, busy = await self.call.deps.ari.endpoint_state(tech, resource)
            log(logger, logging.INFO, "department phone state", department=department.name,
                device=department.device, state=state, busy=busy)  # fmt: skip
            if state != "online" or busy:
                why = "busy on another call" if busy else "not available (not registered)"
                return (
                    f"Transfer not possible: the {department.name} phone is {why} right now. "
                    "Tell the caller and offer to take a message."
                )
        return ""

    async def _on_response_done(self, event: ResponseDone) -> None:
        items = self._response_items.pop(event.response_id, [])
        if items and event.status == "completed":
            tail = self.downsample.flush()  # the resampler holds back ~20 ms
            if tail:
                self.writer.write(items[-1], tail)
        for item_id in items:
            self.writer.finish(item_id)  # pads the last partial frame; wait_done can end
        if self._wants_consent and event.status == "completed":
            # Consent was the greeting's first words: record from the end of it on.
            self._wants_consent = False
            self.call.spawn(self._after_playout(items, self.call.start_recording()), "record")
        action = self._pending.pop(event.response_id, None)
        if action is None:
            return
        if event.status != "completed" or self.model.is_interrupted(event.response_id):
            log(logger, logging.INFO, "action dropped: its response was interrupted",
                action=type(action).__name__)  # fmt: skip
            return
        if isinstance(action, HangupRequest):
            step = self.call.hang_up()
        else:
            step = self.call.transfer(action.department.dial_string, action.department.name)
        # Let the caller hear the whole reply ("Connecting you now...") first.
        self.call.spawn(self._after_playout(items, step), "action")

    async def _after_playout(self, items: list[str], step: Coroutine[Any, Any, None]) -> None:
        """Run `step` once `items` have played, or drop it if the caller cut them short."""
        for item_id in items:
            playout = await self.writer.wait_done(item_id)
            if playout.interrupted:
                step.close()
                log(logger, logging.INFO, "step dropped: the caller interrupted the reply")
                return
        await step
