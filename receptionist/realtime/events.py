"""Typed events the realtime session hands to the call layer, and its errors.

Small frozen dataclasses instead of the SDK's pydantic models: the call layer
matches on a handful of shapes and never sees wire details it does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ResponseStatus = Literal["completed", "cancelled", "incomplete", "failed"]


class RealtimeError(Exception):
    """A realtime session operation failed."""


class RealtimeUnavailable(RealtimeError):
    """The model could not be reached or refused the session (auth, HTTP status, timeout)."""


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """A chunk of model speech: pcm16 mono 24 kHz. Also for a reply the caller cut off:
    the turn machine decides what plays."""

    item_id: str
    response_id: str
    content_index: int
    pcm24: bytes


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Server VAD heard the caller start speaking: stop playback now (barge-in)."""

    audio_start_ms: int
    item_id: str


@dataclass(frozen=True, slots=True)
class SpeechTentative:
    """The caller may be starting to speak (a few voiced frames, not yet a turn): hold
    playback, without losing it, until SpeechStarted confirms or SpeechDismissed clears.
    Only providers whose turn-taking is ours (the pipeline) send it."""

    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechDismissed:
    """What SpeechTentative heard stopped before it made a turn (a cough, line noise):
    playback goes on from where it was held."""


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    audio_end_ms: int
    item_id: str


@dataclass(frozen=True, slots=True)
class CallerTranscript:
    item_id: str
    text: str


@dataclass(frozen=True, slots=True)
class AssistantTranscript:
    """The full transcript of one model audio item (what it generated, not what was heard)."""

    item_id: str
    response_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    response_id: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """The model asked for a tool. `arguments` is the raw JSON text from the model.

    Check `RealtimeSession.is_interrupted(response_id)` (or wait for its
    ResponseDone) before acting on calls with side effects.
    """

    call_id: str
    name: str
    arguments: str
    response_id: str
    item_id: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """A response ended. `reason` is e.g. "turn_detected" or "client_cancelled" when cancelled."""

    response_id: str
    status: ResponseStatus
    reason: str | None = None
    # (item id, text) of audio items whose transcript never completed (cut mid-generation):
    # the words generated so far, so what the caller heard of them still has a line.
    partial_transcripts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelError:
    message: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The websocket is gone (dropped by the server, or closed by us). Always the last event."""

    reason: str


RealtimeEvent = (
    AudioDelta
    | SpeechStarted
    | SpeechTentative
    | SpeechDismissed
    | SpeechStopped
    | CallerTranscript
    | AssistantTranscript
    | ResponseStarted
    | FunctionCall
    | ResponseDone
    | ModelError
    | SessionClosed
)
