"""The realtime websocket's hot messages, encoded and decoded without the SDK's per-event work.

Caller audio goes out as `input_audio_buffer.append` dozens of times a second per call,
and the SDK's `send(dict)` walks the whole client-event type union for each one (some
200 µs of CPU, more than the rest of the audio path together). The append is written
here directly: the text is exactly what `json.dumps` makes of the event (base64 never
needs escaping), and `write_now` hands it to the websocket's own protocol at once,
instead of a queue, a task switch, the SDK's send wrapper and an awaited send per frame.
Model audio comes back as `response.output_audio.delta`, and building the SDK's model
for it costs more than all the rest of the way to the caller: it is handed on as its
plain JSON fields. Every other event is rare and keeps the typed path.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Awaitable, Callable
from typing import TypedDict, cast

import orjson
import pybase64
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import RealtimeErrorEvent, RealtimeServerEvent
from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from receptionist.realtime.events import RealtimeUnavailable

try:  # websockets' own masking, in C when it was built with its speedups
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a pure-Python websockets
    from websockets.utils import apply_mask

AUDIO_DELTA = "response.output_audio.delta"

_APPEND_HEAD = '{"type": "input_audio_buffer.append", "audio": "'
_APPEND_TAIL = '"}'
_MISSING = object()  # truthy and not None: an internal that is not there


def append_audio(pcm24: bytes) -> str:
    """The `input_audio_buffer.append` event for pcm16 24 kHz audio, as websocket text."""
    return _APPEND_HEAD + pybase64.b64encode_as_string(pcm24) + _APPEND_TAIL


class Masks:
    """Client frame masks (RFC 6455 5.3: unpredictable, from a strong source of entropy),
    drawn from the OS a thousand at a time: websockets makes a getrandom system call for
    each frame's four bytes."""

    def __init__(self) -> None:
        self._pool, self._at = b"", 0

    def next(self) -> bytes:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096), 0
        self._at += 4
        return self._pool[self._at - 4 : self._at]


_MASKS = Masks()


def text_frame(payload: bytes, mask: bytes) -> bytes:
    """One unfragmented, masked text frame (RFC 6455 5.2), as websockets' Frame.serialize
    makes it for a client without extensions (the SDK turns compression off)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0xFE, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0xFF, n)
    return head + mask + apply_mask(payload, mask)


def write_now(conn: AsyncRealtimeConnection, text: str) -> bool:
    """Write one text message to the websocket now, if it can take it without waiting.

    This is what the websocket's own `send` does (frame it, hand the bytes to the
    transport), minus the waiting and the protocol object's per-frame work: so it is only
    done when nothing could make `send` wait or reorder: the connection is open, without
    extensions, nothing of the protocol's is waiting to be written, its write buffer is
    below the high-water mark, no fragmented send is under way and the SDK holds no
    backlog. False means none of it happened: send the message the usual way.
    """
    # The SDK's websocket: websockets' asyncio ClientConnection (a stand-in in some tests).
    # Read through getattr: these are internals, and older websockets or openai releases
    # (the image's lock pins its own) lack some of them: then take the usual path.
    ws: object = conn._connection
    if (
        not isinstance(ws, Connection)
        or ws.protocol.state is not State.OPEN
        or ws.protocol.extensions
        or getattr(ws.protocol, "writes", True)
        or getattr(ws, "paused", True)
        or getattr(ws, "send_in_progress", _MISSING) is not None
        or getattr(conn, "_send_queue", _MISSING)
    ):
        return False
    ws.transport.write(text_frame(text.encode(), _MASKS.next()))
    return True


def message_reader(conn: AsyncRealtimeConnection) -> Callable[[], Awaitable[str | bytes]]:
    """What reads the next message's bytes: the websocket's own recv, without the SDK's
    wrapper around it (a debug log call and reconnection bookkeeping, for a connection
    that never reconnects), when the SDK's websocket is websockets' connection."""
    ws: object = conn._connection
    if isinstance(ws, Connection):
        return functools.partial(ws.recv, decode=False)  # no coroutine of ours around it
    return conn.recv_bytes


class AudioDeltaFields(TypedDict):
    """A `response.output_audio.delta` as the API sends it (ResponseAudioDeltaEvent's fields)."""

    type: str
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str  # base64 pcm16 24 kHz


def parse_server_event(
    conn: AsyncRealtimeConnection, raw: str | bytes
) -> RealtimeServerEvent | AudioDeltaFields:
    """One server message: an audio delta as its JSON fields, anything else as the SDK's
    event (parsed again by the SDK: those are few and small). Raises ValueError if the
    message is not JSON."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None  # what orjson refuses (NaN, huge numbers) the SDK's parser may take
    if isinstance(data, dict) and data.get("type") == AUDIO_DELTA:
        return cast(AudioDeltaFields, data)
    return conn.parse_event(raw)


def close_code(exc: ConnectionClosed) -> str:
    """How the websocket closed, for the log and SessionClosed.reason."""
    frame = exc.rcvd
    if frame is None:
        return "code 1006, no close frame"
    return f"code {frame.code}" + (f": {frame.reason}" if frame.reason else "")


async def expect_event(conn: AsyncRealtimeConnection, event_type: str) -> None:
    """Read events until `event_type`; an error event first means the session was refused."""
    while True:
        event = await conn.recv()
        if event.type == event_type:
            return
        if isinstance(event, RealtimeErrorEvent):
            error = event.error
            raise RealtimeUnavailable(f"model refused the session: {error.message} ({error.code})")
