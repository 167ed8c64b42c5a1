"""The one surface the call layer talks to, whichever model runs behind it.

`RealtimeSession` (OpenAI and Azure) and `PipelineSession` (speech in, chat, speech out)
both satisfy it; the turn machine, tools, transcripts, barge-in, deadlines and caps only
ever see the events it yields, so they work unchanged for every provider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from receptionist.realtime.events import RealtimeEvent
from receptionist.realtime.usage import Usage


class ModelSession(Protocol):
    """A model session for one call. `connect` raises `RealtimeUnavailable` when the
    provider is down or refuses (the call then falls back); every other method except
    `update_session` and `close` only enqueues and never blocks the audio path."""

    async def connect(self, timeout: float = 10.0) -> None: ...

    def send_audio(self, pcm24: bytes) -> None:
        """Caller audio: pcm16 mono little-endian at 24 kHz."""

    def events(self) -> AsyncIterator[RealtimeEvent]:
        """Every event in order, ending after SessionClosed."""
        ...

    def request_response(self, instructions: str | None = None) -> None: ...

    def send_function_output(self, call_id: str, output: str, *, respond: bool = True) -> None: ...

    def cancel_response(self) -> bool: ...

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> int:
        """The caller heard only `audio_end_ms` of an item: returns the value applied."""
        ...

    async def update_session(
        self, *, instructions: str | None = None, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> None: ...

    async def close(self) -> None: ...

    @property
    def usage(self) -> Usage:
        """What the session used so far, in the units its provider bills by."""
        ...
