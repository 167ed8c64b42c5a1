"""The model side of a call: feeds the turn state machine and carries out its commands.

Events come from five places (the model's event stream, the paced writer's playout
progress, the caller's voice and keypad, finished tool calls and transfer checks) and the
passing of time: a timer set for the machine's next deadline feeds a Tick, nothing polls.
Each is stamped with the milliseconds since the call was answered and handed to `Turns`,
whose commands are carried out here. Every rule about a turn lives in `receptionist.turns`:
this module only does the I/O. It knows the model, the playback and the call only through
the protocols in ports.py, so it runs against fakes as easily as against a real call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from receptionist.audio.resample import model_to_caller
from receptionist.call.ports import (
    CallControl,
    ConversationModel,
    Playback,
    ToolRunner,
    TranscriptSink,
)
from receptionist.core.counters import COUNTERS
from receptionist.core.logs import log
from receptionist.core.outcomes import FallbackReason
from receptionist.realtime.events import AudioDelta, ModelError, SessionClosed, SpeechStarted
from receptionist.turns.events import (
    Abort,
    CallerVoice,
    Cancel,
    CheckTransfer,
    Clear,
    Command,
    Dtmf,
    Fallback,
    FinishItems,
    Greet,
    HangUp,
    Pause,
    Play,
    PlayFiller,
    PlayoutDone,
    PlayoutStarted,
    RecordOutcome,
    RequestResponse,
    Resume,
    RunTool,
    SaveTurn,
    StartRecording,
    Tick,
    ToolOutput,
    ToolResult,
    Transfer,
    TransferChecked,
    TransferRequest,
    Truncate,
    TurnEvent,
)
from receptionist.turns.machine import Turns

logger = logging.getLogger(__name__)


class Conversation:
    def __init__(
        self,
        model: ConversationModel,
        writer: Playback,
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
        self._timer_at: int | None = None
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

    def greet(self, instructions: str, *, consent: bool = True) -> None:
        self.feed(Greet(instructions, consent))

    def on_caller_voice(self, speaking: bool) -> None:
        """The caller started or stopped speaking (our own detector, for the silence rule)."""
        self.feed(CallerVoice(speaking))

    def on_dtmf(self, digit: str) -> None:
        log(logger, logging.INFO, "caller dtmf", digit=digit)
        self.feed(Dtmf(digit))

    async def run(self) -> None:
        """Feed the model's events until its session closes."""
        async for event in self.model.events():
            if type(event) is AudioDelta:  # nearly every event: nothing to log
                self.feed(event)
                continue
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
        """A timer for the machine's next deadline (kept when the deadline has not moved:
        most events, e.g. each chunk of model audio, leave it where it was)."""
        deadline = self.turns.next_deadline_ms()
        if self._timer is not None:
            if deadline == self._timer_at:
                return
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(0.0, (deadline - self.now_ms()) / 1000)
            self._timer = asyncio.get_running_loop().call_later(delay, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.feed(Tick())

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
            case Pause():
                self.writer.pause()
            case Resume():
                self.writer.resume()
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
            case CheckTransfer(result, request):
                self._spawn(self._check_transfer(result, request), "tool")
            case RecordOutcome(outcome):
                self._spawn(self.control.record_outcome(outcome), "outcome")
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
            told = not self.turns.ended  # a live call's model gets it: the caller hears it
            result = ToolResult(command.call_id, command.response_id, outcome.output,
                                outcome.action)  # fmt: skip
            self.feed(result)
        finally:
            if outcome.settle is not None:
                outcome.settle(told)  # e.g. a booking stands only if the caller is told

    async def _check_transfer(self, result: ToolResult, request: TransferRequest) -> None:
        self.feed(TransferChecked(result, await self.control.transfer_refusal(request)))

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
        self.feed(Abort(FallbackReason.INTERNAL_ERROR))  # never silence after a broken step

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
        pending = [t for t in self._tasks if t.get_name() in ("turn", "record", "outcome")]
        await asyncio.gather(*pending, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
