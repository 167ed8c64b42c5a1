"""The realtime model session: openai SDK connection, typed events, barge-in support."""

from receptionist.realtime.config import SAMPLE_RATE, SessionConfig
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
from receptionist.realtime.session import DEFAULT_MODEL, RealtimeSession

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
