"""What the fake realtime model does, decided per test.

Give a `Script` the replies the model speaks (in order, one per response) and the
transcripts of what the caller says (one per detected speech segment); subclass it
and override a hook for anything else. Every hook gets the `FakeConnection`, which
can `send(...)`, `start_response(Reply)`, `cancel_response(reason)` or `drop()`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai.types.realtime import (
        ConversationItemCreateEvent,
        ResponseCreateEvent,
        SessionUpdateEvent,
    )

    from tests.fakes.realtime_connection import FakeConnection


@dataclass(frozen=True)
class ToolCall:
    """A function call the model makes; `call_id` is generated unless given."""

    name: str
    arguments: Mapping[str, Any] | str = "{}"
    call_id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class Reply:
    """One model response: audio (pcm16 24 kHz) with its transcript, then tool calls."""

    audio: bytes = b""
    transcript: str = ""
    calls: tuple[ToolCall, ...] = ()


class Script:
    """Default behaviour: acknowledge session updates, answer each response with the next
    reply, transcribe each caller turn with the next transcript, and (when the session's
    turn detection has create_response) answer each caller turn."""

    def __init__(self, replies: Iterable[Reply] = (), caller_transcripts: Iterable[str] = ()):
        self.replies: deque[Reply] = deque(replies)
        self.caller_transcripts: deque[str] = deque(caller_transcripts)

    def next_reply(self) -> Reply:
        """The next scripted reply; an empty response once they run out."""
        return self.replies.popleft() if self.replies else Reply()

    def next_caller_transcript(self) -> str:
        return self.caller_transcripts.popleft() if self.caller_transcripts else ""

    async def on_connect(self, conn: FakeConnection) -> None:
        await conn.send_session_created()

    async def on_session_update(self, conn: FakeConnection, event: SessionUpdateEvent) -> None:
        await conn.send_session_updated()

    async def on_response_create(self, conn: FakeConnection, event: ResponseCreateEvent) -> None:
        await conn.start_response(self.next_reply())

    async def on_audio(self, conn: FakeConnection, pcm: bytes) -> None:
        """Called after each input_audio_buffer.append (and after speech detection ran)."""

    async def on_speech_started(self, conn: FakeConnection, item_id: str) -> None:
        """Called after speech_started was sent (and an interrupted response cancelled)."""

    async def on_speech_stopped(self, conn: FakeConnection, item_id: str) -> None:
        await conn.send_caller_transcript(item_id, self.next_caller_transcript())
        vad = conn.turn_detection or {}
        if vad.get("create_response", True) and conn.active is None:
            await conn.start_response(self.next_reply())

    async def on_function_output(
        self, conn: FakeConnection, event: ConversationItemCreateEvent
    ) -> None:
        """Called when the client returns a tool result (it then sends response.create)."""


class SilentModel(Script):
    """A model that accepts the session and then never says anything."""

    silent = True  # the pipeline fake's chat endpoint then holds every request unanswered

    async def on_response_create(self, conn: FakeConnection, event: ResponseCreateEvent) -> None:
        pass


class ToolLoop(Script):
    """A model stuck in a loop: every reply is the same tool calls and nothing said."""

    def __init__(self, calls_per_reply: int = 1) -> None:
        super().__init__()
        self.calls = (ToolCall("lookup_faq", {"question": "Are you open?"}),) * calls_per_reply

    def next_reply(self) -> Reply:
        return Reply(calls=self.calls)
