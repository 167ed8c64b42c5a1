"""Server events in, call-layer events out: no I/O, so every rule is a plain unit test.

Also knows which response is current and which were cancelled (for the tools and the
truncation); audio of a cut-off reply is passed on, and the turn machine drops it.

A malformed event (not an object, a wrong type, a missing field) is logged once per
event type and skipped: one bad message must not end the call's session.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any, cast, get_args

from openai.types.realtime import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeErrorEvent,
    RealtimeServerEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDoneEvent,
)

from receptionist.core.logs import log
from receptionist.realtime.audio_format import BYTES_PER_MS
from receptionist.realtime.events import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    RealtimeEvent,
    ResponseDone,
    ResponseStarted,
    ResponseStatus,
    SpeechStarted,
    SpeechStopped,
)
from receptionist.realtime.usage import Usage
from receptionist.realtime.wire import AudioDeltaFields

logger = logging.getLogger(__name__)

_DONE_STATUSES: frozenset[str] = frozenset(get_args(ResponseStatus))
_INTERRUPTED_STATUSES = frozenset({"cancelled", "incomplete", "failed"})
# Known events the call layer does not need; not worth a debug line each (some come per chunk).
_QUIET = frozenset(
    {
        "session.created",
        "session.updated",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.created",
        "conversation.item.truncated",
        "conversation.item.input_audio_transcription.delta",
        "input_audio_buffer.committed",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.function_call_arguments.delta",
        "rate_limits.updated",
    }
)


class InboundTranslator:
    """Turns SDK server events into `events.RealtimeEvent`s and tracks response state."""

    def __init__(self, *, interrupt_response: bool) -> None:
        # Mirrors the session's turn_detection.interrupt_response: whether the server itself
        # cancels the current reply when the caller starts speaking.
        self.interrupt_response = interrupt_response
        self.usage = Usage()  # summed over every response.done
        self._current: str | None = None
        self._interrupted: set[str] = set()
        self._status: dict[str, str] = {}
        self._audio_bytes: dict[str, int] = {}
        self._partial: dict[str, dict[str, list[str]]] = {}  # response -> item -> words
        self._malformed: set[str] = set()  # event types already logged as malformed
        self._handlers: dict[str, Callable[[Any], RealtimeEvent | None]] = {
            "input_audio_buffer.speech_started": self._speech_started,
            "input_audio_buffer.speech_stopped": self._speech_stopped,
            "conversation.item.input_audio_transcription.completed": self._caller_text,
            "conversation.item.input_audio_transcription.failed": self._caller_text_failed,
            "response.created": self._response_created,
            "response.output_audio.delta": self._audio_delta,
            "response.output_audio_transcript.delta": self._assistant_text_delta,
            "response.output_audio_transcript.done": self._assistant_text,
            "response.function_call_arguments.done": self._function_call,
            "response.done": self._response_done,
            "error": self._error,
        }

    @property
    def current_response_id(self) -> str | None:
        return self._current

    def is_interrupted(self, response_id: str) -> bool:
        if response_id in self._interrupted:
            return True
        return self._status.get(response_id) in _INTERRUPTED_STATUSES

    def mark_interrupted(self, response_id: str) -> None:
        self._interrupted.add(response_id)

    def audio_received_ms(self, item_id: str) -> int:
        return self._audio_bytes.get(item_id, 0) // BYTES_PER_MS

    def translate(self, event: RealtimeServerEvent | AudioDeltaFields) -> RealtimeEvent | None:
        """The call-layer event for one server event; None for events it does not need and
        for malformed ones (skipped, and logged once per type)."""
        kind = "response.output_audio.delta"
        try:
            if isinstance(event, dict):  # an audio delta as plain JSON: the per-frame path
                return self._audio(
                    event["response_id"], event["item_id"], event["content_index"], event["delta"]
                )
            kind = str(getattr(event, "type", type(event).__name__))
            handler = self._handlers.get(kind)
            if handler is not None:
                return handler(event)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # The SDK builds events without validating them: a missing field shows up here.
            self._skip_malformed(kind, exc)
            return None
        if kind not in _QUIET:
            log(logger, logging.DEBUG, "realtime event ignored", type=kind)
        return None

    def _skip_malformed(self, kind: str, exc: Exception) -> None:
        if kind in self._malformed:
            return
        self._malformed.add(kind)
        log(logger, logging.WARNING, "malformed realtime event skipped (logged once per type)",
            type=kind[:80], error=repr(exc)[:200])  # fmt: skip

    def _speech_started(self, event: InputAudioBufferSpeechStartedEvent) -> RealtimeEvent:
        started = SpeechStarted(
            audio_start_ms=int(event.audio_start_ms), item_id=_text(event.item_id)
        )
        # The server cancels the reply in progress itself; mark it now so its in-flight
        # audio is dropped and its tool calls are refused before response.done arrives.
        if self.interrupt_response and self._current is not None:
            self._interrupted.add(self._current)
        return started

    def _speech_stopped(self, event: InputAudioBufferSpeechStoppedEvent) -> RealtimeEvent:
        return SpeechStopped(audio_end_ms=int(event.audio_end_ms), item_id=_text(event.item_id))

    def _caller_text(
        self, event: ConversationItemInputAudioTranscriptionCompletedEvent
    ) -> RealtimeEvent:
        return CallerTranscript(item_id=_text(event.item_id), text=_text(event.transcript))

    def _caller_text_failed(
        self, event: ConversationItemInputAudioTranscriptionFailedEvent
    ) -> None:
        log(
            logger,
            logging.WARNING,
            "caller transcription failed",
            item_id=event.item_id,
            error=event.error.message,
        )

    def _response_created(self, event: ResponseCreatedEvent) -> RealtimeEvent:
        response_id = _text(event.response.id or "")
        self._current = response_id
        return ResponseStarted(response_id=response_id)

    def _audio_delta(self, event: ResponseAudioDeltaEvent) -> RealtimeEvent | None:
        return self._audio(event.response_id, event.item_id, event.content_index, event.delta)

    def _audio(
        self, response_id: str, item_id: str, content_index: int, delta: str
    ) -> RealtimeEvent | None:
        try:
            pcm = base64.b64decode(delta, validate=True)
        except binascii.Error as exc:
            log(logger, logging.WARNING, "bad audio delta skipped", item_id=item_id, error=exc)
            return None
        self._audio_bytes[item_id] = self._audio_bytes.get(item_id, 0) + len(pcm)
        return AudioDelta(
            item_id=item_id, response_id=response_id, content_index=content_index, pcm24=pcm
        )

    def _assistant_text_delta(self, event: ResponseAudioTranscriptDeltaEvent) -> None:
        words = self._partial.setdefault(_text(event.response_id), {})
        words.setdefault(_text(event.item_id), []).append(_text(event.delta))

    def _assistant_text(self, event: ResponseAudioTranscriptDoneEvent) -> RealtimeEvent:
        self._partial.get(event.response_id, {}).pop(event.item_id, None)
        return AssistantTranscript(
            item_id=_text(event.item_id),
            response_id=_text(event.response_id),
            text=_text(event.transcript),
        )

    def _function_call(self, event: ResponseFunctionCallArgumentsDoneEvent) -> RealtimeEvent:
        return FunctionCall(
            call_id=_text(event.call_id),
            name=_text(event.name),
            arguments=_text(event.arguments),
            response_id=_text(event.response_id),
            item_id=_text(event.item_id),
        )

    def _response_done(self, event: ResponseDoneEvent) -> RealtimeEvent:
        response = event.response
        response_id = _text(response.id or "")
        # "in_progress" never ends a response: treat anything unexpected as a failure.
        status = cast(
            ResponseStatus, response.status if response.status in _DONE_STATUSES else "failed"
        )
        self._status[response_id] = status
        if self._current == response_id:
            self._current = None
        if response.usage is not None:
            self.usage.add_realtime(response.usage)
        details = response.status_details
        reason = details.reason if details is not None else None
        partial = self._partial.pop(response_id, {})
        return ResponseDone(
            response_id=response_id,
            status=status,
            reason=reason,
            partial_transcripts=tuple((item, "".join(words)) for item, words in partial.items()),
        )

    def _error(self, event: RealtimeErrorEvent) -> RealtimeEvent | None:
        error = event.error
        _text(error.message)
        if error.code == "response_cancel_not_active":
            # Our cancel crossed the server's own turn_detected cancel: harmless.
            log(logger, logging.DEBUG, "cancel found no active response")
            return None
        log(logger, logging.WARNING, "realtime model error", code=error.code, message=error.message)
        return ModelError(message=error.message, code=error.code)


def _text(value: object) -> str:
    """A field that must be a string: anything else makes the event malformed."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
