"""The rules of a conversational turn, as a pure state machine (after h11).

Events go in (the model's events, playout progress from the paced writer, DTMF, tool
results, the passing of time) with the time they happened; commands come out (play,
clear, truncate, cancel, ask for a reply, run a tool, hang up, transfer, fall back,
start recording, save a transcript line). Nothing here does I/O or reads a clock, so
every rule is a unit test; `conversation.py` feeds it and carries out what it returns.

The rules, all here:
- What the caller heard is what counts. Assistant lines are saved once their audio has
  played, timed by playout; a reply cut short is saved with the milliseconds heard.
- Barge-in: the caller speaking stops playback, cancels a reply still being generated,
  and truncates what was cut at what was heard. A hang-up or transfer asked for by a
  reply the caller did not hear to the end is never carried out.
- Consent: recording starts only once the consent reply has played uninterrupted; if
  it was cut, the next reply is replaced by one that says the consent again first.
- No dead air: every reply the caller waits for has a first-audio deadline: a short
  filler first, then the fallback (a person) if the model still says nothing. While a
  tool runs, the filler repeats and the fallback waits for the (longer) tool wait.
- Bounded tools: tool calls are capped per reply and per call (then the fallback), and
  messages per call; tool results from one reply get one follow-up reply, never one each.
- Keypad: a key in the business's keypad map ends the turn with its command (transfer,
  voicemail, operator) at any moment, mid-reply included; the model never sees keys.
- The session ends on its own close or a fatal model error, never on a malformed event
  (the session's translator skips those).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from receptionist.core.outcomes import FallbackReason
from receptionist.realtime.config import BYTES_PER_MS
from receptionist.realtime.events import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    ResponseDone,
    ResponseStarted,
    SessionClosed,
    SpeechStarted,
    SpeechStopped,
)
from receptionist.tools.call_tools import HangupRequest, TransferRequest
from receptionist.turns.events import (
    OPERATOR_KEYPAD,
    Ask,
    Cancel,
    Clear,
    Command,
    Dtmf,
    Fallback,
    FinishItems,
    Greet,
    HangUp,
    Keypad,
    Play,
    PlayFiller,
    PlayoutDone,
    PlayoutStarted,
    RequestResponse,
    RunTool,
    SaveTurn,
    StartRecording,
    Tick,
    ToolOutput,
    ToolResult,
    Transfer,
    Truncate,
    TurnEvent,
    TurnLimits,
)

# Errors after which the session cannot go on (anything else is logged and lived with).
FATAL_MODEL_ERRORS = frozenset({"session_expired", "insufficient_quota", "invalid_api_key"})
MESSAGE_TOOL = "take_message"


# ---------------------------------------------------------------- state
@dataclass
class _Item:
    response_id: str
    text: str | None = None
    audio_bytes: int = 0
    started_ms: int | None = None
    played_ms: int = 0
    done: bool = False
    interrupted: bool = False
    saved: bool = False


@dataclass
class _Response:
    id: str
    items: list[str] = field(default_factory=list)
    done: bool = False
    completed: bool = False  # ended with status "completed"
    interrupted: bool = False  # the caller did not hear all of it
    dropped: bool = False  # cancelled by us: its audio and tools are ignored
    consent: bool = False  # it carries the recording consent
    then_consent: bool = False  # once done, ask for the consent reply instead
    action: TransferRequest | HangupRequest | None = None
    tool_calls: int = 0
    tools_running: int = 0
    needs_reply: bool = False  # a tool result the model should speak about


class Turns:
    """`handle(event, now_ms)` returns the commands to carry out, in order."""

    def __init__(self, *, consent_text: str | None = None, limits: TurnLimits | None = None,
                 keypad: Keypad = OPERATOR_KEYPAD):  # fmt: skip
        self.limits = limits or TurnLimits()
        self.keypad = keypad  # keys acted on at any moment, without the model
        self.consent_text = consent_text
        self.consent_owed = consent_text is not None
        self.ended = False
        self._consent_requested = False
        self._responses: dict[str, _Response] = {}
        self._items: dict[str, _Item] = {}
        self._unplayed: set[str] = set()  # items with audio not yet done playing
        self._generating: str | None = None
        self._waiting_since: int | None = None  # the caller waits for a reply's audio
        self._fillers = 0  # played since the caller started waiting
        self._tools_running = 0
        self._tool_calls = 0
        self._messages = 0
        self._caller_started: dict[str, int] = {}
        self._caller_stopped: dict[str, int] = {}

    # ------------------------------------------------------------ queries
    def next_deadline_ms(self) -> int | None:
        """When to send a Tick, if a deadline is running."""
        if self._waiting_since is None or self.ended:
            return None
        limits = self.limits
        if self._tools_running:
            filler = limits.filler_after_ms + self._fillers * limits.tool_filler_every_ms
            return self._waiting_since + min(filler, limits.tool_wait_ms)
        after = limits.fallback_after_ms if self._fillers else limits.filler_after_ms
        return self._waiting_since + after

    def unplayed_items(self) -> list[str]:
        """Items still playing or queued: at the end of a call, report each as cut."""
        return sorted(self._unplayed)

    @property
    def busy(self) -> bool:
        """A reply is being generated or played, or the caller is waiting for one."""
        waiting = self._waiting_since is not None
        return bool(self._generating or self._unplayed or waiting)

    # ------------------------------------------------------------ the one entry point
    def handle(self, event: TurnEvent, now: int) -> list[Command]:
        if self._unplayed and self._waiting_since is not None:
            self._waiting_since = now  # the caller is still hearing something
        out = self._dispatch(event, now)
        out += self._check_deadline(now)
        return out

    def _dispatch(self, event: TurnEvent, now: int) -> list[Command]:
        match event:
            case AudioDelta():
                return self._audio(event)
            case SpeechStarted():
                return self._speech_started(event, now)
            case SpeechStopped():
                self._caller_stopped[event.item_id] = now
                self._wait(now)
                return []
            case CallerTranscript():
                start = self._caller_started.pop(event.item_id, now)
                end = self._caller_stopped.pop(event.item_id, now)
                return [SaveTurn("caller", event.text, start, max(start, end))]
            case AssistantTranscript():
                item = self._items.get(event.item_id)
                if item is None or item.text is not None:
                    return []
                item.text = event.text
                return self._save(item)
            case ResponseStarted():
                return self._response_started(event, now)
            case ResponseDone():
                return self._response_done(event, now)
            case FunctionCall():
                return self._function_call(event, now)
            case ToolResult():
                return self._tool_result(event, now)
            case PlayoutStarted():
                item = self._items.get(event.item_id)
                if item is not None and item.started_ms is None:
                    item.started_ms = now
                return []
            case PlayoutDone():
                return self._playout_done(event, now)
            case Greet():
                self._consent_requested = self.consent_owed
                return self._request(RequestResponse(event.instructions), now)
            case Ask():
                return self._request(RequestResponse(event.instructions), now)
            case Dtmf():
                command = self.keypad.get(event.digit)
                return self._end(command) if command is not None else []
            case ModelError():
                if event.code in FATAL_MODEL_ERRORS:
                    return self._end(Fallback(FallbackReason.MODEL_ERROR))
                return []
            case SessionClosed():
                return self._end(Fallback(FallbackReason.MODEL_DROPPED))
            case Tick():
                return []
        return []

    # ------------------------------------------------------------ model audio and barge-in
    def _audio(self, event: AudioDelta) -> list[Command]:
        response = self._response(event.response_id)
        if response.interrupted or response.dropped or self.ended:
            return []  # a reply the caller cut off (or we dropped) is never played on
        item = self._items.get(event.item_id)
        if item is None:
            item = self._items[event.item_id] = _Item(response.id)
            response.items.append(event.item_id)
        item.audio_bytes += len(event.pcm24)
        self._unplayed.add(event.item_id)
        self._waiting_since, self._fillers = None, 0
        return [Play(event.item_id, event.pcm24)]

    def _speech_started(self, event: SpeechStarted, now: int) -> list[Command]:
        self._caller_started[event.item_id] = now
        self._waiting_since = None  # the caller is talking: no dead air to fill
        out: list[Command] = []
        if self._generating is not None:
            generating = self._responses[self._generating]
            generating.interrupted = True
            out.append(Cancel(generating.id))
        for item_id in self._unplayed:
            self._responses[self._items[item_id].response_id].interrupted = True
        out.append(Clear())  # whatever is playing stops, the filler included
        return out

    def _playout_done(self, event: PlayoutDone, now: int) -> list[Command]:
        item = self._items.get(event.item_id)
        if item is None or item.done:
            return []  # e.g. the filler
        item.done, item.played_ms, item.interrupted = True, event.played_ms, event.interrupted
        if item.started_ms is None:
            item.started_ms = now - event.played_ms
        self._unplayed.discard(event.item_id)
        if not self._unplayed and self._waiting_since is not None:
            self._waiting_since = max(self._waiting_since, now)
        elif not self._unplayed and self._tools_running:
            self._wait(now)  # "let me check" has played: now the caller waits on the tool
        response = self._responses[item.response_id]
        out: list[Command] = []
        if event.interrupted:
            response.interrupted = True
            # The model's context must hold only what the caller heard.
            out.append(Truncate(event.item_id, event.played_ms))
        out += self._save(item)
        return out + self._settle(response, now)

    # ------------------------------------------------------------ responses
    def _response(self, response_id: str) -> _Response:
        response = self._responses.get(response_id)
        if response is None:
            response = self._responses[response_id] = _Response(response_id)
        return response

    def _response_started(self, event: ResponseStarted, now: int) -> list[Command]:
        response = self._response(event.response_id)
        self._generating = response.id
        if self.ended:
            return []
        self._wait(now)
        if self._consent_requested:
            self._consent_requested, response.consent = False, True
        elif self.consent_owed:
            # The consent was cut off: this reply must not go ahead of it.
            response.dropped = response.then_consent = True
            return [Cancel(response.id)]
        return []

    def _response_done(self, event: ResponseDone, now: int) -> list[Command]:
        response = self._response(event.response_id)
        response.done, response.completed = True, event.status == "completed"
        if self._generating == response.id:
            self._generating = None
        out: list[Command] = []
        if response.items:
            flush = response.completed and not response.interrupted
            out.append(FinishItems(tuple(response.items), flush))
        for item_id, text in event.partial_transcripts:
            item = self._items.get(item_id)
            if item is not None and item.text is None:
                item.text = text
                out += self._save(item)
        if response.then_consent and not self.ended:
            self._consent_requested = True
            assert self.consent_text is not None
            replay = (
                f'First say exactly: "{self.consent_text}" Then answer what the caller just said.'
            )
            out += self._request(RequestResponse(replay), now)
        elif response.completed and not response.items and not response.tool_calls:
            self._waiting_since = None  # the model chose to say nothing
        return out + self._settle(response, now)

    def _settle(self, response: _Response, now: int) -> list[Command]:
        """What follows once a reply has been generated and played (or cut short)."""
        if not response.done or response.tools_running or self.ended:
            return []
        played = all(self._items[i].done for i in response.items)
        heard_whole = response.completed and not response.interrupted
        if response.consent and played:
            response.consent = False
            if heard_whole and response.items:
                self.consent_owed = False
                return [StartRecording()]
        if response.action is not None and (played or not heard_whole):
            action, response.action = response.action, None
            if heard_whole:
                return self._end(
                    HangUp() if isinstance(action, HangupRequest) else Transfer(action)
                )
            # Cut short: never act on it (a hang-up from an interrupted reply would cut
            # off a caller who was still talking). The caller's turn gets its own reply.
        if response.needs_reply and not response.interrupted and response.action is None:
            response.needs_reply = False
            return self._request(RequestResponse(), now)
        return []

    # ------------------------------------------------------------ tools
    def _function_call(self, event: FunctionCall, now: int) -> list[Command]:
        response = self._response(event.response_id)
        if self.ended or response.dropped:
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
                refusal = (
                    f"Not saved: this call already left {limits.messages_per_call} messages, "
                    "the most one call may leave. Tell the caller their messages are saved."
                )
                return [ToolOutput(event.call_id, refusal)]
        response.tools_running += 1
        self._tools_running += 1
        self._wait(now)  # the caller waits for the result (after what is still playing)
        return [RunTool(event.call_id, response.id, event.name, event.arguments)]

    def _tool_result(self, event: ToolResult, now: int) -> list[Command]:
        response = self._response(event.response_id)
        response.tools_running -= 1
        self._tools_running -= 1
        if not self._tools_running and self._waiting_since is not None:
            self._waiting_since, self._fillers = now, 0  # now for the reply about it
        if event.action is None:
            response.needs_reply = True
        elif response.action is None:
            response.action = event.action  # carried out once the reply has played
        return [ToolOutput(event.call_id, event.output), *self._settle(response, now)]

    # ------------------------------------------------------------ helpers
    def _save(self, item: _Item) -> list[Command]:
        if item.saved or item.text is None or not item.done or item.played_ms <= 0:
            return []
        item.saved = True
        start = item.started_ms or 0
        text = item.text
        if item.interrupted:
            total = item.audio_bytes // BYTES_PER_MS
            text = f"{text} [cut off: heard {item.played_ms} of {total} ms]"
        return [SaveTurn("assistant", text, start, start + item.played_ms)]

    def _request(self, request: RequestResponse, now: int) -> list[Command]:
        if self.ended:
            return []
        self._wait(now)
        return [request]

    def _wait(self, now: int) -> None:
        if self._waiting_since is None and not self.ended:
            self._waiting_since, self._fillers = now, 0

    def _check_deadline(self, now: int) -> list[Command]:
        deadline = self.next_deadline_ms()
        if deadline is None or now < deadline or self._waiting_since is None:
            return []
        waited, limits = now - self._waiting_since, self.limits
        if waited >= limits.tool_wait_ms if self._tools_running else self._fillers > 0:
            return self._end(Fallback(FallbackReason.NO_MODEL_AUDIO))
        self._fillers += 1
        return [PlayFiller()]

    def _end(self, command: HangUp | Transfer | Fallback) -> list[Command]:
        if self.ended:
            return []
        self.ended = True
        self._waiting_since = None
        return [command]
