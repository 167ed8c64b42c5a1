"""The rules of a conversational turn, as a pure state machine (after h11).

Events go in (the model's events, playout progress from the paced writer, the caller's
voice and keypad, tool results, the passing of time) with the time they happened;
commands come out (play, clear, truncate, cancel, ask for a reply, run a tool, check a
transfer, record an outcome, hang up, transfer, fall back, start recording, save a
transcript line). Nothing here does I/O or reads a clock, so every rule is a unit test;
`call/conversation.py` feeds it and carries out what it returns.

The rules are listed in the package docstring (`receptionist/turns/__init__.py`); the
time rules' deadlines are in timers.py, the words asked of the model in wording.py.
"""

from __future__ import annotations

from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.realtime import events as model
from receptionist.turns import wording
from receptionist.turns.events import (
    OPERATOR_KEYPAD,
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
    HangupRequest,
    Keypad,
    Pause,
    Play,
    PlayFiller,
    PlayoutDone,
    PlayoutStarted,
    RecordOutcome,
    RequestResponse,
    Resume,
    RunTool,
    StartRecording,
    ToolOutput,
    ToolResult,
    Transfer,
    TransferChecked,
    TransferRequest,
    Truncate,
    TurnEvent,
    TurnLimits,
)
from receptionist.turns.state import (
    Consent,
    Generation,
    Hearing,
    Item,
    Phase,
    Playout,
    Response,
    Role,
)
from receptionist.turns.timers import Activity, Due, Timers, earliest_due, first_deadline
from receptionist.turns.transcript import Transcript

# Errors after which the session cannot go on (anything else is logged and lived with).
FATAL_MODEL_ERRORS = frozenset({"session_expired", "insufficient_quota", "invalid_api_key"})
MESSAGE_TOOL = "take_message"


_RULES = range(len(Due))  # not `for _ in Due`: that makes a generator, per audio chunk


class Turns:
    """`handle(event, now_ms)` returns the commands to carry out, in order."""

    def __init__(self, *, consent_text: str | None = None, limits: TurnLimits | None = None,
                 keypad: Keypad = OPERATOR_KEYPAD):  # fmt: skip
        self.limits = limits or TurnLimits()
        self.keypad = keypad  # keys acted on at any moment, without the model
        self.consent_text = consent_text
        self._consent = Consent.OWED if consent_text is not None else Consent.NOT_OWED
        self._phase = Phase.TALKING
        self._timers = Timers(self.limits)
        self._responses: dict[str, Response] = {}
        self._items: dict[str, Item] = {}
        self._unplayed: set[str] = set()  # items with audio not yet done playing
        self._generating: str | None = None
        self._tools_running = 0
        self._tool_calls = 0
        self._messages = 0
        self._transcript = Transcript()
        self._held = False  # playback paused on a tentative start of caller speech
        # Only events change the deadlines: worked out once per event, in _check_deadlines.
        self._next_deadline = first_deadline(self._timers.deadlines(self._phase, self._activity()))

    # ------------------------------------------------------------ queries
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def ended(self) -> bool:
        """Hung up, transferred or handed over: only an event can end the turns."""
        return self._phase is Phase.ENDED

    @property
    def busy(self) -> bool:
        """A reply is being generated, played or awaited, or a tool is running."""
        waiting = self._timers.waiting
        return bool(self._generating or self._unplayed or waiting or self._tools_running)

    def next_deadline_ms(self) -> int | None:
        """When to send a Tick, if a deadline is running."""
        return self._next_deadline

    def _activity(self) -> Activity:
        return Activity(self.busy, bool(self._unplayed), bool(self._tools_running))

    def unplayed_items(self) -> list[str]:
        """Items still playing or queued: at the end of a call, report each as cut."""
        return sorted(self._unplayed)

    # ------------------------------------------------------------ the one entry point
    def handle(self, event: TurnEvent, now: int) -> list[Command]:
        if self._unplayed:
            self._timers.hold(now)  # the caller is still hearing something
        was_busy = self.busy
        out = self._dispatch(event, now)
        if was_busy and not self.busy:
            self._timers.quiet_from(now)  # the silence counts from the end of our reply
        return out + self._check_deadlines(now)

    def _dispatch(self, event: TurnEvent, now: int) -> list[Command]:
        match event:
            case model.AudioDelta():
                return self._audio(event)
            case model.SpeechTentative():
                if self.ended or self._held:
                    return []
                self._held = True
                return [Pause()]
            case model.SpeechDismissed():
                if not self._held:
                    return []
                self._held = False
                return [Resume()]
            case model.SpeechStarted():
                return self._speech_started(event, now)
            case model.SpeechStopped():
                self._transcript.speech_stopped(event.item_id, now)
                self._timers.quiet_from(now)
                self._wait(now)
                return []
            case model.CallerTranscript():
                return [self._transcript.caller_line(event.item_id, event.text, now)]
            case model.AssistantTranscript():
                item = self._items.get(event.item_id)
                if item is None or item.text is not None:
                    return []
                item.text = event.text
                return self._transcript.assistant_line(item)
            case model.ResponseStarted():
                return self._response_started(event, now)
            case model.ResponseDone():
                return self._response_done(event, now)
            case model.FunctionCall():
                return self._function_call(event, now)
            case ToolResult():
                return self._tool_result(event, now)
            case TransferChecked(result, refusal):
                if refusal:  # the phone cannot take the call: the model says so instead
                    result = ToolResult(result.call_id, result.response_id, refusal)
                return self._tool_done(result, now)
            case PlayoutStarted():
                item = self._items.get(event.item_id)
                if item is not None and item.started_ms is None:
                    item.started_ms = now
                return []
            case PlayoutDone():
                return self._playout_done(event, now)
            case CallerVoice(speaking):
                self._timers.caller_voice(speaking, now)
                if speaking and self._phase is Phase.CHECKED_IN:
                    self._phase = Phase.TALKING  # back: a later silence checks in again
                return []
            case Greet():
                return self._greet(event, now)
            case Dtmf():
                command = self.keypad.get(event.digit)
                return self._end(command) if command is not None else []
            case model.ModelError():
                if event.code in FATAL_MODEL_ERRORS:
                    return self._end(Fallback(FallbackReason.MODEL_ERROR))
                return []
            case model.SessionClosed():
                return self._end(Fallback(FallbackReason.MODEL_DROPPED))
            case Abort(reason):
                return self._end(Fallback(reason))
        return []  # a Tick: the deadlines are checked after every event

    # ------------------------------------------------------------ model audio and barge-in
    def _audio(self, event: model.AudioDelta) -> list[Command]:
        response = self._response(event.response_id)
        if response.hearing is not Hearing.WHOLE or self.ended:
            return []  # a reply the caller cut off (or we dropped) is never played on
        item = self._items.get(event.item_id)
        if item is None:
            item = self._items[event.item_id] = Item(response.id)
            response.items.append(event.item_id)
        item.audio_bytes += len(event.pcm24)
        self._unplayed.add(event.item_id)
        self._timers.stop_waiting()
        return [Play(event.item_id, event.pcm24)]

    def _speech_started(self, event: model.SpeechStarted, now: int) -> list[Command]:
        self._transcript.speech_started(event.item_id, now)
        self._timers.stop_waiting()  # the caller is talking: no dead air to fill
        self._timers.quiet_from(now)
        out: list[Command] = []
        if self._generating is not None:
            self._cut(self._responses[self._generating])
            out.append(Cancel(self._generating))
        for item_id in self._unplayed:
            self._cut(self._responses[self._items[item_id].response_id])
        self._held = False  # Clear drops what a Pause held
        out.append(Clear())  # whatever is playing stops, the filler included
        return out

    def _cut(self, response: Response) -> None:
        if response.hearing is Hearing.WHOLE:
            response.hearing = Hearing.CUT

    def _playout_done(self, event: PlayoutDone, now: int) -> list[Command]:
        item = self._items.get(event.item_id)
        if item is None or item.playout is not Playout.PENDING:
            return []  # e.g. the filler
        item.playout = Playout.CUT if event.interrupted else Playout.PLAYED
        item.played_ms = event.played_ms
        if item.started_ms is None:
            item.started_ms = now - event.played_ms
        self._unplayed.discard(event.item_id)
        if not self._unplayed and self._tools_running:
            self._wait(now)  # "let me check" has played: now the caller waits on the tool
        response = self._responses[item.response_id]
        out: list[Command] = []
        if event.interrupted:
            self._cut(response)
            # The model's context must hold only what the caller heard.
            out.append(Truncate(event.item_id, event.played_ms))
        out += self._transcript.assistant_line(item)
        return out + self._settle(response, now)

    # ------------------------------------------------------------ responses
    def _response(self, response_id: str) -> Response:
        response = self._responses.get(response_id)  # not setdefault: called per audio chunk
        if response is None:
            response = self._responses[response_id] = Response(response_id)
        return response

    def _greet(self, event: Greet, now: int) -> list[Command]:
        instructions = event.instructions
        if self._consent is Consent.OWED:
            self._consent = Consent.ASKED
            if event.consent and self.consent_text is not None:
                instructions = wording.consent_first(self.consent_text, instructions)
        return self._request(RequestResponse(instructions), now)

    def _response_started(self, event: model.ResponseStarted, now: int) -> list[Command]:
        response = self._response(event.response_id)
        self._generating = response.id
        if self.ended:
            return []
        self._wait(now)
        if self._consent is Consent.ASKED:
            self._consent, response.role = Consent.OWED, Role.CONSENT
        elif self._consent is Consent.OWED:
            # The consent was cut off: this reply must not go ahead of it.
            response.hearing, response.role = Hearing.DROPPED, Role.BEFORE_CONSENT
            return [Cancel(response.id)]
        return []

    def _response_done(self, event: model.ResponseDone, now: int) -> list[Command]:
        response = self._response(event.response_id)
        completed = event.status == "completed"
        response.generation = Generation.COMPLETED if completed else Generation.STOPPED
        if self._generating == response.id:
            self._generating = None
        out: list[Command] = []
        if response.items:
            out.append(FinishItems(tuple(response.items), flush=response.heard_whole))
        for item_id, text in event.partial_transcripts:
            item = self._items.get(item_id)
            if item is not None and item.text is None:
                item.text = text
                out += self._transcript.assistant_line(item)
        if response.role is Role.BEFORE_CONSENT and self.consent_text is not None:
            self._consent = Consent.ASKED
            replay = wording.consent_first(self.consent_text, "answer what the caller just said.")
            out += self._request(RequestResponse(replay), now)
        elif completed and not response.items and not response.tool_calls:
            self._timers.stop_waiting()  # the model chose to say nothing
        return out + self._settle(response, now)

    def _settle(self, response: Response, now: int) -> list[Command]:
        """What follows once a reply has been generated and played (or cut short)."""
        if not response.generated or response.tools_running or self.ended:
            return []
        played = all(self._items[i].playout is not Playout.PENDING for i in response.items)
        if response.role is Role.CONSENT and played:
            response.role = Role.ANSWER
            if response.heard_whole and response.items:
                self._consent = Consent.NOT_OWED
                return [StartRecording()]
        if response.action is not None and (played or not response.heard_whole):
            action, response.action = response.action, None
            if response.heard_whole:
                return self._end(
                    HangUp() if isinstance(action, HangupRequest) else Transfer(action)
                )
            # Cut short: never act on it (a hang-up from an interrupted reply would cut
            # off a caller who was still talking). The caller's turn gets its own reply.
        if response.needs_reply and response.hearing is Hearing.WHOLE and response.action is None:
            response.needs_reply = False
            return self._request(RequestResponse(), now)
        return []

    # ------------------------------------------------------------ tools
    def _function_call(self, event: model.FunctionCall, now: int) -> list[Command]:
        response = self._response(event.response_id)
        if self.ended or response.hearing is Hearing.DROPPED:
            return []
        response.tool_calls += 1
        self._tool_calls += 1
        limits = self.limits
        if (
            response.tool_calls > limits.tools_per_response
            or self._tool_calls > limits.tools_per_call
        ):
            return self._end(Fallback(FallbackReason.TOOL_LIMIT))
        if event.name == MESSAGE_TOOL:
            self._messages += 1
            if self._messages > limits.messages_per_call:
                response.needs_reply = True
                refusal = wording.messages_refused(limits.messages_per_call)
                return [ToolOutput(event.call_id, refusal)]
        response.tools_running += 1
        self._tools_running += 1
        self._wait(now)  # the caller waits for the result (after what is still playing)
        return [RunTool(event.call_id, response.id, event.name, event.arguments)]

    def _tool_result(self, event: ToolResult, now: int) -> list[Command]:
        action = event.action
        if isinstance(action, TransferRequest) and not action.voicemail and not self.ended:
            return [CheckTransfer(event, action)]  # a mailbox needs no phone to be free
        return self._tool_done(event, now)

    def _tool_done(self, result: ToolResult, now: int) -> list[Command]:
        response = self._response(result.response_id)
        response.tools_running -= 1
        self._tools_running -= 1
        if not self._tools_running:
            self._timers.restart_waiting(now)  # now for the reply about the results
        if result.action is None:
            response.needs_reply = True
        elif response.action is None:
            response.action = result.action  # carried out once the reply has played
        return [ToolOutput(result.call_id, result.output), *self._settle(response, now)]

    # ------------------------------------------------------------ time
    def _check_deadlines(self, now: int) -> list[Command]:
        out: list[Command] = []
        for _ in _RULES:  # each rule fires at most once per event
            deadlines = self._timers.deadlines(self._phase, self._activity())
            due = earliest_due(deadlines, now)
            if due is None:
                break
            out += self._on_due(due, now)
        else:
            deadlines = self._timers.deadlines(self._phase, self._activity())
        self._next_deadline = first_deadline(deadlines)
        return out

    def _on_due(self, due: Due, now: int) -> list[Command]:
        match due:
            case Due.FILLER:
                self._timers.filled()
                return [PlayFiller()]
            case Due.NO_AUDIO:
                return self._end(Fallback(FallbackReason.NO_MODEL_AUDIO))
            case Due.SILENCE if self._phase is Phase.TALKING:
                self._phase = Phase.CHECKED_IN
                self._timers.quiet_from(now)
                return self._request(RequestResponse(wording.CHECK_IN), now)
            case Due.SILENCE:
                return self._say_goodbye(Outcome.CALLER_SILENT, wording.CALLER_SILENT, now)
            case Due.MAX_CALL:
                return self._say_goodbye(Outcome.MAX_DURATION, wording.MAX_CALL_REACHED, now)
            case Due.GOODBYE_OVER:
                return self._end(HangUp())  # no end_call from the model, and nothing playing
        return []

    def _say_goodbye(self, outcome: Outcome, why: str, now: int) -> list[Command]:
        self._phase = Phase.GOODBYE
        self._timers.goodbye(now)
        return [RecordOutcome(outcome), *self._request(RequestResponse(wording.goodbye(why)), now)]

    # ------------------------------------------------------------ helpers
    def _request(self, request: RequestResponse, now: int) -> list[Command]:
        if self.ended:
            return []
        self._wait(now)
        return [request]

    def _wait(self, now: int) -> None:
        if not self.ended:
            self._timers.start_waiting(now)

    def _end(self, command: HangUp | Transfer | Fallback) -> list[Command]:
        if self.ended:
            return []
        self._phase = Phase.ENDED
        self._timers.stop_waiting()
        return [command]
