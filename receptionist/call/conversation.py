"""The model side of a call: feeds the turn state machine and carries out its commands.

Events come from four places (the model's event stream, the paced writer's playout
progress, the caller's keypad, finished tool calls) and the passing of time; each is
stamped with the milliseconds since the call was answered and handed to `Turns`, whose
commands are carried out here. Every rule about a turn lives in `turn.py`: this module
only does the I/O. It knows the call only through the narrow `CallControl` protocol and
a `TranscriptSink`, so it runs against fakes as easily as against a real call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from receptionist.audio.resample import model_to_caller
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter
from receptionist.core.counters import COUNTERS
from receptionist.core.logs import log
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.model import ModelSession
from receptionist.realtime import ModelError, SessionClosed, SpeechStarted
from receptionist.tools.call_tools import ToolOutcome, TransferRequest
from receptionist.turns.events import (
    Ask,
    Cancel,
    Clear,
    Command,
    Dtmf,
    Fallback,
    FinishItems,
    Greet,
    HangUp,
    Play,
    PlayFiller,
    PlayoutDone,
    PlayoutStarted,
    RequestResponse,
    RunTool,
    SaveTurn,
    Speaker,
    StartRecording,
    Tick,
    ToolOutput,
    ToolResult,
    Transfer,
    Truncate,
    TurnEvent,
)
from receptionist.turns.machine import Turns

logger = logging.getLogger(__name__)

GOODBYE_GRACE_S = 10.0  # after asking for a goodbye, hang up ourselves if the model does not


class CallControl(Protocol):
    """What the conversation may do to the call."""

    async def hang_up(self) -> None: ...
    async def transfer(self, request: TransferRequest) -> None: ...
    async def fallback(self, reason: FallbackReason) -> None: ...
    async def start_recording(self) -> None: ...
    async def record_outcome(self, outcome: Outcome) -> None: ...
    async def transfer_refusal(self, request: TransferRequest) -> str: ...


class TranscriptSink(Protocol):
    async def add_turn(self, speaker: Speaker, text: str, start_ms: int, end_ms: int) -> None: ...


class ToolRunner(Protocol):
    async def call(self, name: str, arguments: str) -> ToolOutcome: ...


class Conversation:
    def __init__(
        self,
        model: ModelSession,
        writer: PacedWriter,
        leg_rate: int,
        *,
        control: CallControl,
        transcript: TranscriptSink,
        tools: ToolRunner,
        turns: Turns,
        filler: bytes = b"",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.writer = writer
        self.control = control
        self.transcript = transcript
        self.tools = tools
        self.turns = turns
        self.filler = filler
        self.downsample = model_to_caller(leg_rate)
        self.clock = clock
        self.started_at = clock()
        self.first_audio_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._fillers = 0
        self._tool_order = asyncio.Lock()
        writer.on_first_frame = self._on_first_frame

    def now_ms(self) -> int:
        """Milliseconds since the call was answered: the transcript's clock."""
        return round((self.clock() - self.started_at) * 1000)

    # ------------------------------------------------------------------ feeding
    def feed(self, event: TurnEvent) -> None:
        for command in self.turns.handle(event, self.now_ms()):
            self._do(command)
        self._arm_timer()

    def greet(self, instructions: str) -> None:
        self.feed(Greet(instructions))

    def on_dtmf(self, digit: str) -> None:
        log(logger, logging.INFO, "caller dtmf", digit=digit)
        self.feed(Dtmf(digit))

    async def run(self) -> None:
        """Feed the model's events until its session closes."""
        async for event in self.model.events():
            if isinstance(event, SpeechStarted):
                log(logger, logging.INFO, "caller speech started", item=event.item_id)
            if isinstance(event, ModelError):
                COUNTERS.model_errors[event.code or "unknown"] += 1
            if isinstance(event, SessionClosed) and not self.turns.ended:
                log(logger, logging.WARNING, "model session dropped", reason=event.reason)
            self.feed(event)

    def _on_first_frame(self, item_id: str, at: float) -> None:
        if self.first_audio_at is None:
            self.first_audio_at = at
        # Called from inside the writer's send loop: feed once that loop is done.
        asyncio.get_running_loop().call_soon(self.feed, PlayoutStarted(item_id))

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.turns.next_deadline_ms()
        if deadline is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, (deadline - self.now_ms()) / 1000)
            self._timer = loop.call_later(delay, self.feed, Tick())

    # ------------------------------------------------------------------ commands
    def _do(self, command: Command) -> None:
        match command:
            case Play(item_id, pcm24):
                first = self.writer.received_ms(item_id) == 0
                pcm = self.downsample.process(pcm24)
                if pcm:
                    self.writer.write(item_id, pcm)
                if first:
                    self._spawn(self._watch_playout(item_id), "playout")
            case FinishItems(item_ids, flush):
                tail = self.downsample.flush() if flush else b""
                if tail and item_ids:
                    self.writer.write(item_ids[-1], tail)  # the resampler holds back ~20 ms
                for item_id in item_ids:
                    self.writer.finish(item_id)  # pads the last partial frame
            case Clear():
                playout = self.writer.clear()
                self.downsample.reset()
                if playout is not None:
                    log(logger, logging.INFO, "barge-in", item=playout.item_id,
                        heard_ms=playout.played_ms)  # fmt: skip
            case Truncate(item_id, audio_end_ms):
                self.model.truncate(item_id, 0, audio_end_ms)
            case Cancel():
                self.model.cancel_response()
            case RequestResponse(instructions):
                self.model.request_response(instructions=instructions)
            case ToolOutput(call_id, output):
                self.model.send_function_output(call_id, output, respond=False)
            case RunTool():
                self._spawn(self._run_tool(command), "tool")
            case PlayFiller():
                self._fillers += 1
                log(logger, logging.INFO, "reply late: playing the filler")
                if self.filler:
                    item = f"filler-{self._fillers}"
                    self.writer.write(item, self.filler)
                    self.writer.finish(item)
            case SaveTurn(speaker, text, start_ms, end_ms):
                self._spawn(self.transcript.add_turn(speaker, text, start_ms, end_ms), "turn")
            case StartRecording():
                self._spawn(self.control.start_recording(), "record")
            case HangUp():
                self._spawn(self.control.hang_up(), "hangup")
            case Transfer(request):
                self._spawn(self.control.transfer(request), "transfer")
            case Fallback(reason):
                self._spawn(self.control.fallback(reason), "fallback")

    async def _watch_playout(self, item_id: str) -> None:
        playout = await self.writer.wait_done(item_id)
        self.feed(PlayoutDone(item_id, playout.played_ms, playout.interrupted))

    async def _run_tool(self, command: RunTool) -> None:
        # One at a time, in the order the model asked: a reply may check a slot and then
        # book it, and the booking must see the check's result.
        async with self._tool_order:
            outcome = await self.tools.call(command.name, command.arguments)
        told = False
        try:
            if outcome.outcome is not None and (outcome.settle is None or not self.turns.ended):
                await self.control.record_outcome(outcome.outcome)
            output, action = outcome.output, outcome.action
            if isinstance(action, TransferRequest):
                refusal = await self.control.transfer_refusal(action)
                if refusal:
                    output, action = refusal, None
            told = not self.turns.ended  # a live call's model gets it: the caller hears it
            self.feed(ToolResult(command.call_id, command.response_id, output, action))
        finally:
            if outcome.settle is not None:
                outcome.settle(told)  # e.g. a booking stands only if the caller is told

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        log(logger, logging.ERROR, "conversation step failed", step=task.get_name(),
            error=repr(task.exception()))  # fmt: skip
        if not self.turns.ended:
            self.turns.ended = True  # a broken step must not leave the caller in silence
            self._spawn(self.control.fallback(FallbackReason.INTERNAL_ERROR), "fallback")

    async def close(self) -> None:
        """End of call: what is still playing counts as cut off (and its line is saved)."""
        if self._timer is not None:
            self._timer.cancel()
        now = self.now_ms()
        for item_id in self.turns.unplayed_items():
            played = self.writer.played_ms(item_id)
            for command in self.turns.handle(PlayoutDone(item_id, played, True), now):
                if isinstance(command, SaveTurn):
                    self._do(command)
        pending = [t for t in self._tasks if t.get_name() in ("turn", "record")]
        await asyncio.gather(*pending, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ time limits
    async def watch_time_and_silence(
        self, vad: SpeechDetector, max_call_s: float, silence_timeout_s: float
    ) -> None:
        """The maximum call length, and a spoken check-in when the caller goes silent
        (caller speech detected locally), then a goodbye if the silence goes on."""
        deadline = self.started_at + max_call_s
        checked_in = False
        why = "The call has reached its time limit."
        while True:
            await asyncio.sleep(1.0)
            if self.clock() > deadline:
                log(logger, logging.INFO, "maximum call length reached")
                await self.control.record_outcome(Outcome.MAX_DURATION)
                break
            if self.turns.busy or vad.speaking:
                continue
            if vad.ms_since_speech > silence_timeout_s * 1000:
                if not checked_in:
                    checked_in = True
                    vad.reset_silence()
                    log(logger, logging.INFO, "caller silent: checking in")
                    self.feed(
                        Ask("The caller has been silent. Briefly ask if they are still there.")
                    )
                else:
                    await self.control.record_outcome(Outcome.CALLER_SILENT)
                    why = "The caller stayed silent."
                    break
        # The model says goodbye and should call end_call; if it does not, the line
        # still closes once the goodbye has played.
        self.feed(Ask(f"{why} Say a short, polite goodbye now, then call end_call."))
        await asyncio.sleep(GOODBYE_GRACE_S)
        while self.writer.current_item is not None:
            await self.writer.wait_done(self.writer.current_item)
        if not self.turns.ended:
            log(logger, logging.INFO, "no end_call after the goodbye: hanging up")
            self.turns.ended = True
            await self.control.hang_up()
