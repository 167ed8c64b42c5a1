"""What the call layer needs of the parts it drives, as protocols: any model provider,
playback and call that has these methods fits, and tests can hand in small fakes.

`ConversationModel` is the part of a model session the conversation uses; `CallModel`
adds what the call itself does with it (connect, caller audio, close). A provider's
session type satisfies them by having the methods; nothing here needs subclassing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from receptionist.audio.writer import FirstFrameHook, Playout
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.realtime.events import RealtimeEvent
from receptionist.tools.spec import ToolOutcome
from receptionist.turns.events import Speaker, TransferRequest


class ConversationModel(Protocol):
    def events(self) -> AsyncIterator[RealtimeEvent]:
        """Every event in order, ending after SessionClosed."""
        ...

    def request_response(self, instructions: str | None = None) -> None: ...
    def send_function_output(self, call_id: str, output: str, *, respond: bool = True) -> None: ...
    def cancel_response(self) -> bool: ...
    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> int: ...


class CallerAudioSink(Protocol):
    def send_audio(self, pcm24: bytes) -> None:
        """Caller audio: pcm16 mono little-endian at 24 kHz."""


class CallModel(ConversationModel, CallerAudioSink, Protocol):
    async def connect(self, timeout: float = 10.0) -> None: ...
    async def close(self) -> None: ...


class Playback(Protocol):
    """The paced writer, as the conversation plays replies through it."""

    on_first_frame: FirstFrameHook | None

    def write(self, item_id: str, pcm: bytes) -> None: ...
    def finish(self, item_id: str) -> None: ...
    def clear(self) -> Playout | None: ...
    def received_ms(self, item_id: str) -> int: ...
    def played_ms(self, item_id: str) -> int: ...
    async def wait_done(self, item_id: str) -> Playout: ...
    @property
    def current_item(self) -> str | None:
        """The item playing now, if any (the live calls page reads it)."""
        ...


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
