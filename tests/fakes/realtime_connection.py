"""One websocket on the fake realtime server: what it receives and how it answers."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.realtime_script import Reply, Script
from tests.fakes.realtime_stream import Active, stream_reply
from tests.fakes.realtime_vad import BYTES_PER_MS, EnergyVad
from tests.fakes.realtime_wire import CLIENT_EVENTS, error_event, response_object, validate
from tests.fakes.tones import RATE_24K

if TYPE_CHECKING:
    from tests.fakes.realtime_server import FakeRealtimeServer


def default_session(model: str) -> dict[str, Any]:
    """A fresh session before any session.update (the API's defaults)."""
    pcm = {"type": "audio/pcm", "rate": RATE_24K}
    vad = {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "create_response": True,
        "interrupt_response": True,
    }
    return {
        "type": "realtime",
        "model": model,
        "instructions": "",
        "output_modalities": ["audio"],
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "audio": {
            "input": {
                "format": pcm,
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": vad,
            },
            "output": {"format": dict(pcm), "voice": "alloy"},
        },
    }


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    # session.update changes only the fields present: nested objects merge, lists replace.
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


# Every response.done reports the same usage, so tests can check the sums exactly.
FAKE_USAGE = {
    "total_tokens": 1000, "input_tokens": 700, "output_tokens": 300,
    "input_token_details": {"text_tokens": 500, "audio_tokens": 200, "cached_tokens": 100},
    "output_token_details": {"text_tokens": 50, "audio_tokens": 250},
}  # fmt: skip


class FakeConnection:
    """One client websocket. `Script` hooks receive it to act on the call."""

    def __init__(self, server: FakeRealtimeServer, request: web.Request, ws: web.WebSocketResponse):
        self.server = server
        self.model = request.query.get("model", "")
        self.session = default_session(self.model)
        self.input_audio = bytearray()  # kept unless the server is lean
        self.input_bytes = 0
        # (type, monotonic time) of each event sent, audio deltas excepted
        self.timeline: list[tuple[str, float]] = []
        self.active: Active | None = None
        self.item_audio_bytes: dict[str, int] = {}
        self.call_ids: set[str] = set()
        self.ids = server.ids
        self._request = request
        self._ws = ws
        self._lock = asyncio.Lock()
        self._vad = EnergyVad(server.speech_rms)
        self._speech_item = ""

    @property
    def script(self) -> Script:
        """The server's current script (tests may swap it at any time)."""
        return self.server.script

    @property
    def voice(self) -> str:
        return str(self.session["audio"]["output"].get("voice") or "alloy")

    @property
    def turn_detection(self) -> dict[str, Any] | None:
        return self.session["audio"]["input"].get("turn_detection")

    # -- acting on the call (for Script hooks) ------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        """Send a server event; it is validated and recorded like everything the fake sends."""
        event.setdefault("event_id", self.ids.new("event"))
        text = json.dumps(event)
        # Record what went on the wire (a copy: callers may mutate their dicts later).
        if self.server.sampled("sent:" + event["type"]):
            await self.server.record_sent(json.loads(text))
        async with self._lock:
            if not self._ws.closed:
                # A client killed mid-reply (SIGKILL) leaves a closing transport behind.
                with contextlib.suppress(ConnectionResetError):
                    await self._ws.send_str(text)
        if not event["type"].endswith(".delta"):
            self.timeline.append((event["type"], time.monotonic()))

    async def send_raw(self, text: str) -> None:
        """Send text as it is, unvalidated and unrecorded: a malformed message, on purpose."""
        async with self._lock:
            if not self._ws.closed:
                await self._ws.send_str(text)

    async def send_session_created(self) -> None:
        await self.send({"type": "session.created", "session": self.session})

    async def send_session_updated(self) -> None:
        await self.send({"type": "session.updated", "session": self.session})

    async def send_error(self, message: str, *, code: str, client_event: Any = None) -> None:
        client_event_id = client_event.get("event_id") if isinstance(client_event, dict) else None
        event_id = self.ids.new("event")
        await self.send(error_event(event_id, message, code=code, client_event_id=client_event_id))

    async def send_caller_transcript(self, item_id: str, text: str) -> None:
        if self.session["audio"]["input"].get("transcription") is None:
            return  # transcription is off: the real server sends nothing either
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": text,
                "usage": {"type": "duration", "seconds": 1.0},
            }
        )

    async def start_response(self, reply: Reply) -> str | None:
        """Stream `reply` as a new response (an error if one is active, as the API does)."""
        if self.active is not None:
            message = "Conversation already has an active response"
            await self.send_error(message, code="conversation_already_has_active_response")
            return None
        active = self.active = Active(self.ids.new("resp"))
        active.task = asyncio.create_task(stream_reply(self, active, reply))
        return active.id

    async def cancel_response(self, reason: str) -> bool:
        """Stop the active response: response.done with status cancelled and `reason`."""
        active = self.active
        if active is None or active.task is None:
            return False
        active.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await active.task
        if active.open_item is not None:
            active.open_item["status"] = "incomplete"
            index = len(active.output)
            await self.send(
                {
                    "type": "response.output_item.done",
                    "response_id": active.id,
                    "output_index": index,
                    "item": active.open_item,
                }
            )
            active.output.append(active.open_item)
        await self.finish_response(active, "cancelled", reason)
        return True

    async def finish_response(self, active: Active, status: str, reason: str | None) -> None:
        if self.active is active:
            self.active = None
        response = response_object(
            active.id, status=status, voice=self.voice, output=active.output, reason=reason
        )
        response["usage"] = FAKE_USAGE
        await self.send({"type": "response.done", "response": response})

    async def drop(self, *, abrupt: bool = True) -> None:
        """Lose the connection mid-call: abort TCP (client sees 1006) or close with 1011."""
        transport = self._request.transport
        if abrupt and transport is not None:
            transport.abort()
        else:
            await self._ws.close(code=1011, message=b"fake server dropped the session")

    async def close(self) -> None:
        if self.active is not None and self.active.task is not None:
            self.active.task.cancel()
            # A reply still streaming to a client that is gone (e.g. a killed process)
            # ends with the reset: closing must not fail for it.
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await self.active.task
        await self._ws.close()

    # -- client events -------------------------------------------------------------------

    async def handle(self, text: str) -> None:
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            await self.server.record_invalid(text, f"not JSON: {exc}")
            return
        parsed: Any = None
        if self.server.sampled(str(data.get("type")) if isinstance(data, dict) else ""):
            parsed = validate(data, CLIENT_EVENTS)
            if isinstance(parsed, str):
                await self.server.record_invalid(data, parsed)
                await self.send_error(parsed, code="invalid_event", client_event=data)
                return
            await self.server.record_received(parsed)
        handler = getattr(self, "_on_" + data["type"].replace(".", "_"), None)
        if handler is not None:
            await handler(data, parsed)

    async def _on_session_update(self, data: dict[str, Any], parsed: Any) -> None:
        _merge(self.session, data["session"])
        await self.script.on_session_update(self, parsed)

    async def _on_input_audio_buffer_append(self, data: dict[str, Any], _: Any) -> None:
        try:
            pcm = base64.b64decode(data["audio"], validate=True)
        except binascii.Error as exc:
            await self.server.record_invalid(data, f"audio is not base64: {exc}")
            return
        if len(pcm) % 2:
            await self.server.record_invalid(data, "odd number of pcm16 bytes")
        self.input_bytes += len(pcm)
        if not self.server.lean:
            self.input_audio.extend(pcm)
        vad = self.turn_detection
        if vad is not None and self.server.detect_speech:
            padding, silence = (
                vad.get("prefix_padding_ms", 300),
                vad.get("silence_duration_ms", 200),
            )
            for kind, ms in self._vad.feed(pcm, prefix_padding_ms=padding, silence_ms=silence):
                await (self._speech_started(ms) if kind == "started" else self._speech_stopped(ms))
        await self.script.on_audio(self, pcm)

    async def _on_response_create(self, _: dict[str, Any], parsed: Any) -> None:
        await self.script.on_response_create(self, parsed)

    async def _on_response_cancel(self, data: dict[str, Any], _: Any) -> None:
        wanted = data.get("response_id")
        if self.active is None or (wanted and wanted != self.active.id):
            message = "Cancellation failed: no active response found"
            await self.send_error(message, code="response_cancel_not_active", client_event=data)
            return
        await self.cancel_response("client_cancelled")

    async def _on_conversation_item_truncate(self, data: dict[str, Any], _: Any) -> None:
        item_id, end_ms = data["item_id"], data["audio_end_ms"]
        if item_id not in self.item_audio_bytes:
            await self.send_error(
                f"Item {item_id} not found", code="invalid_value", client_event=data
            )
            return
        if end_ms > self.item_audio_bytes[item_id] // BYTES_PER_MS:
            message = "audio_end_ms is longer than the item's audio"
            await self.send_error(message, code="invalid_value", client_event=data)
            return
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": data["content_index"],
                "audio_end_ms": end_ms,
            }
        )

    async def _on_conversation_item_create(self, data: dict[str, Any], parsed: Any) -> None:
        item = dict(data["item"])
        is_output = item.get("type") == "function_call_output"
        if is_output and item["call_id"] not in self.call_ids:
            message = f"No function call with call_id {item['call_id']}"
            await self.send_error(message, code="invalid_value", client_event=data)
            return
        item.setdefault("id", self.ids.new("item"))
        item.update(object="realtime.item", status="completed")
        await self.send({"type": "conversation.item.added", "item": item})
        await self.send({"type": "conversation.item.done", "item": item})
        if is_output:
            await self.script.on_function_output(self, parsed)

    # -- server VAD ----------------------------------------------------------------------

    async def _speech_started(self, audio_start_ms: int) -> None:
        item_id = self._speech_item = self.ids.new("item")
        await self.send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": audio_start_ms,
                "item_id": item_id,
            }
        )
        vad = self.turn_detection or {}
        if vad.get("interrupt_response", True) and self.active is not None:
            await self.cancel_response("turn_detected")
        await self.script.on_speech_started(self, item_id)

    async def _speech_stopped(self, audio_end_ms: int) -> None:
        item_id = self._speech_item
        await self.send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": audio_end_ms,
                "item_id": item_id,
            }
        )
        await self.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": None}
        )
        await self.script.on_speech_stopped(self, item_id)
