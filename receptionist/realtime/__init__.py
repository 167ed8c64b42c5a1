"""The realtime model session: openai SDK connection, typed events, barge-in support.

The events and the audio format load without the SDK (the turn machine needs only them);
the session and its configuration load the SDK on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from receptionist.realtime.audio_format import SAMPLE_RATE
from receptionist.realtime.events import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    RealtimeError,
    RealtimeEvent,
    RealtimeUnavailable,
    ResponseDone,
    ResponseStarted,
    ResponseStatus,
    SessionClosed,
    SpeechDismissed,
    SpeechStarted,
    SpeechStopped,
    SpeechTentative,
)

if TYPE_CHECKING:
    from receptionist.realtime.config import SessionConfig
    from receptionist.realtime.session import DEFAULT_MODEL, RealtimeSession

# Names whose modules import the openai SDK: loaded when first asked for.
_WITH_SDK = {
    "DEFAULT_MODEL": "receptionist.realtime.session",
    "RealtimeSession": "receptionist.realtime.session",
    "SessionConfig": "receptionist.realtime.config",
}

__all__ = [
    "DEFAULT_MODEL",
    "SAMPLE_RATE",
    "AssistantTranscript",
    "AudioDelta",
    "CallerTranscript",
    "FunctionCall",
    "ModelError",
    "RealtimeError",
    "RealtimeEvent",
    "RealtimeSession",
    "RealtimeUnavailable",
    "ResponseDone",
    "ResponseStarted",
    "ResponseStatus",
    "SessionClosed",
    "SessionConfig",
    "SpeechDismissed",
    "SpeechStarted",
    "SpeechStopped",
    "SpeechTentative",
]


def __getattr__(name: str) -> object:
    module = _WITH_SDK.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
