"""The events a turn takes in and the commands it gives out (see machine.py): frozen
dataclasses, compared with ==, so a test states a rule as events in, commands out.

Also the two things a turn can end in besides a fallback, a transfer or a hang-up request,
which the model's tools ask for and the keypad maps to: they live here, beside the turn's
events, so the machine needs nothing from the tools."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.realtime.events import RealtimeEvent

if TYPE_CHECKING:
    # Only carried, never looked into: importing the business models would load pydantic.
    from receptionist.business.models import Department

Speaker = Literal["caller", "assistant"]


@dataclass(frozen=True, slots=True)
class TurnLimits:
    filler_after_ms: int = 1500  # waiting this long for a reply's first audio: a filler
    fallback_after_ms: int = 4000  # still nothing: hand the caller to a person
    # While a tool runs the caller waits for its result instead: the filler again every
    # `tool_filler_every_ms`, the fallback only after `tool_wait_ms`, longer than any
    # tool's own limit (a booking gives up after booking.BOOKING_WAIT_S), so a slow
    # calendar is heard as "cannot be reached", not as the fallback.
    tool_wait_ms: int = 10_000
    tool_filler_every_ms: int = 4000
    tools_per_response: int = 8
    tools_per_call: int = 40
    messages_per_call: int = 3
    max_call_ms: int = 900_000  # then a goodbye (settings: max_call_seconds)
    silence_ms: int = 30_000  # caller and receptionist quiet this long: a check-in
    goodbye_grace_ms: int = 10_000  # after asking for a goodbye, hang up if the model does not


# ---------------------------------------------------------------- what a turn may end in
@dataclass(frozen=True)
class TransferRequest:
    """Hand the caller to a department (asked by a tool or a key)."""

    department: Department
    voicemail: bool = False  # to the department's mailbox instead of its phone
    summary: str = ""  # for a warm transfer: the one sentence staff hear first


@dataclass(frozen=True)
class HangupRequest:
    reason: str = "completed"


# ---------------------------------------------------------------- events in
@dataclass(frozen=True, slots=True)
class Greet:
    """The call's first reply. `consent`: say the recording consent first, if one is owed
    (a caller back from a transfer nobody answered has heard it already)."""

    instructions: str
    consent: bool = True


@dataclass(frozen=True, slots=True)
class PlayoutStarted:
    item_id: str


@dataclass(frozen=True, slots=True)
class PlayoutDone:
    item_id: str
    played_ms: int
    interrupted: bool


@dataclass(frozen=True, slots=True)
class CallerVoice:
    """The caller started or stopped speaking (our own detector on the caller's audio)."""

    speaking: bool


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    response_id: str
    output: str
    action: TransferRequest | HangupRequest | None = None


@dataclass(frozen=True, slots=True)
class TransferChecked:
    """The answer to a CheckTransfer: `refusal` says why the phone cannot take the call
    now ("" if it can)."""

    result: ToolResult
    refusal: str


@dataclass(frozen=True, slots=True)
class Abort:
    """A step of the call broke: hand the caller to a person rather than leave silence."""

    reason: FallbackReason


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed (a deadline from `next_deadline_ms` came)."""


TurnEvent = (
    RealtimeEvent | Greet | PlayoutStarted | PlayoutDone | CallerVoice | Dtmf | ToolResult
    | TransferChecked | Abort | Tick
)  # fmt: skip


# ---------------------------------------------------------------- commands out
@dataclass(frozen=True, slots=True)
class Play:
    item_id: str
    pcm24: bytes


@dataclass(frozen=True, slots=True)
class FinishItems:
    """No more audio for these items; `flush` the resampler's tail into the last one."""

    item_ids: tuple[str, ...]
    flush: bool


@dataclass(frozen=True, slots=True)
class Clear:
    """Stop playback now; the writer reports each cut item with a PlayoutDone."""


@dataclass(frozen=True, slots=True)
class Pause:
    """Hold playback where it is, keeping what is queued (the caller may be starting to
    speak); a Resume plays on from there, a Clear drops it."""


@dataclass(frozen=True, slots=True)
class Resume:
    pass


@dataclass(frozen=True, slots=True)
class Truncate:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class Cancel:
    response_id: str


@dataclass(frozen=True, slots=True)
class RequestResponse:
    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class RunTool:
    call_id: str
    response_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolOutput:
    call_id: str
    output: str


@dataclass(frozen=True, slots=True)
class CheckTransfer:
    """Ask the PBX whether the department's phone can take the call; answer with
    TransferChecked(result, refusal)."""

    result: ToolResult
    request: TransferRequest


@dataclass(frozen=True, slots=True)
class PlayFiller:
    pass


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class HangUp:
    pass


@dataclass(frozen=True, slots=True)
class Transfer:
    request: TransferRequest


@dataclass(frozen=True, slots=True)
class Fallback:
    reason: FallbackReason


@dataclass(frozen=True, slots=True)
class StartRecording:
    pass


@dataclass(frozen=True, slots=True)
class SaveTurn:
    speaker: Speaker
    text: str
    start_ms: int
    end_ms: int


Command = (
    Play | FinishItems | Clear | Pause | Resume | Truncate | Cancel | RequestResponse
    | RunTool | ToolOutput | CheckTransfer | PlayFiller | RecordOutcome | HangUp | Transfer
    | Fallback | StartRecording | SaveTurn
)  # fmt: skip

# What each keypad key does (the business's keypad, built by handoff/keypad.py).
Keypad = Mapping[str, Transfer | Fallback]
OPERATOR_KEYPAD: Keypad = MappingProxyType({"0": Fallback(FallbackReason.CALLER_PRESSED_0)})
