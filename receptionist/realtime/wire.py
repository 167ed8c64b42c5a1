"""The realtime websocket's hot messages, encoded and decoded without the SDK's per-event work.

Caller audio goes out as `input_audio_buffer.append` dozens of times a second per call,
and the SDK's `send(dict)` walks the whole client-event type union for each one (some
200 µs of CPU, more than the rest of the audio path together). The append is written
here directly: the text is exactly what `json.dumps` makes of the event (base64 never
needs escaping). Every other event is rare and keeps the SDK's typed path.
"""

from __future__ import annotations

import base64

from websockets.exceptions import ConnectionClosed

_APPEND_HEAD = '{"type": "input_audio_buffer.append", "audio": "'
_APPEND_TAIL = '"}'


def append_audio(pcm24: bytes) -> str:
    """The `input_audio_buffer.append` event for pcm16 24 kHz audio, as websocket text."""
    return _APPEND_HEAD + base64.b64encode(pcm24).decode("ascii") + _APPEND_TAIL


def close_code(exc: ConnectionClosed) -> str:
    """How the websocket closed, for the log and SessionClosed.reason."""
    frame = exc.rcvd
    if frame is None:
        return "code 1006, no close frame"
    return f"code {frame.code}" + (f": {frame.reason}" if frame.reason else "")
