"""The events a turn takes in and the commands it gives out (see turn.py): frozen
dataclasses, compared with ==, so a test states a rule as events in, commands out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from receptionist.core.outcomes import FallbackReason
from receptionist.realtime.events import RealtimeEvent
from receptionist.tools.call_tools import HangupRequest, TransferRequest

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


# ---------------------------------------------------------------- events in
@dataclass(frozen=True, slots=True)
class Greet:
    instructions: str


@dataclass(frozen=True, slots=True)
class Ask:
    """Ask the model to speak (e.g. a check-in when the caller is silent)."""

    instructions: str


@dataclass(frozen=True, slots=True)
class PlayoutStarted:
    item_id: str


@dataclass(frozen=True, slots=True)
class PlayoutDone:
    item_id: str
    played_ms: int
    interrupted: bool


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
class Tick:
    """Time passed (a deadline from `next_deadline_ms` came)."""


TurnEvent = RealtimeEvent | Greet | Ask | PlayoutStarted | PlayoutDone | Dtmf | ToolResult | Tick


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
class PlayFiller:
    pass


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
    Play | FinishItems | Clear | Truncate | Cancel | RequestResponse | RunTool | ToolOutput
    | PlayFiller | HangUp | Transfer | Fallback | StartRecording | SaveTurn
)  # fmt: skip

# What each keypad key does (the business's keypad, built by handoff/keypad.py).
Keypad = Mapping[str, Transfer | Fallback]
OPERATOR_KEYPAD: Keypad = MappingProxyType({"0": Fallback(FallbackReason.CALLER_PRESSED_0)})
