"""How the fake model streams one response: GA event order, audio faster than real time."""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

from tests.fakes.realtime_script import Reply
from tests.fakes.realtime_vad import BYTES_PER_MS
from tests.fakes.realtime_wire import assistant_item, function_call_item, response_object

if TYPE_CHECKING:
    from tests.fakes.realtime_connection import FakeConnection


class Active:
    """The response being streamed: its task and what it has output so far."""

    def __init__(self, response_id: str) -> None:
        self.id = response_id
        self.output: list[dict[str, Any]] = []
        self.open_item: dict[str, Any] | None = None  # the item a cancel leaves incomplete
        self.task: asyncio.Task[None] | None = None


async def stream_reply(conn: FakeConnection, active: Active, reply: Reply) -> None:
    response = response_object(active.id, status="in_progress", voice=conn.voice)
    await conn.send({"type": "response.created", "response": response})
    if conn.server.think_s:
        await asyncio.sleep(conn.server.think_s)  # the model's time to first audio
    await conn.server.replies_open.wait()
    if reply.audio or reply.transcript:
        await _stream_audio(conn, active, reply)
    for call in reply.calls:
        await _function_call(conn, active, call.name, call.arguments_json(), call.call_id)
    await conn.finish_response(active, "completed", None)


async def _stream_audio(conn: FakeConnection, active: Active, reply: Reply) -> None:
    item_id, index = conn.ids.new("item"), len(active.output)
    active.open_item = assistant_item(item_id, status="in_progress", transcript=None)
    conn.item_audio_bytes[item_id] = 0
    part = {"response_id": active.id, "item_id": item_id, "output_index": index}
    part["content_index"] = 0
    item_added = {"response_id": active.id, "output_index": index, "item": active.open_item}
    await conn.send({"type": "response.output_item.added", **item_added})
    audio_part = {"type": "audio", "transcript": ""}
    await conn.send({"type": "response.content_part.added", **part, "part": audio_part})

    step = conn.server.chunk_ms * BYTES_PER_MS
    chunks = [reply.audio[i : i + step] for i in range(0, len(reply.audio), step)] or [b""]
    words = reply.transcript.split(" ")
    loop = asyncio.get_running_loop()
    deadline = loop.time()
    for n, pcm in enumerate(chunks):
        if pcm:
            conn.item_audio_bytes[item_id] += len(pcm)
            delta = base64.b64encode(pcm).decode("ascii")
            await conn.send({"type": "response.output_audio.delta", **part, "delta": delta})
        # Spread the transcript's words over the audio, as the model interleaves them.
        lo, hi = n * len(words) // len(chunks), (n + 1) * len(words) // len(chunks)
        if reply.transcript and hi > lo:
            text = " ".join(words[lo:hi]) + (" " if hi < len(words) else "")
            await conn.send(
                {"type": "response.output_audio_transcript.delta", **part, "delta": text}
            )
        # Faster than real time, paced on an absolute clock like the real model's stream.
        factor = conn.server.realtime_factor
        if factor:
            deadline += len(pcm) / BYTES_PER_MS / 1000 / factor
        await asyncio.sleep(max(0.0, deadline - loop.time()))

    transcript = reply.transcript
    await conn.send({"type": "response.output_audio.done", **part})
    await conn.send(
        {"type": "response.output_audio_transcript.done", **part, "transcript": transcript}
    )
    done_part = {"type": "audio", "transcript": transcript}
    await conn.send({"type": "response.content_part.done", **part, "part": done_part})
    done = assistant_item(item_id, status="completed", transcript=transcript)
    active.open_item = None
    await conn.send(
        {
            "type": "response.output_item.done",
            "response_id": active.id,
            "output_index": index,
            "item": done,
        }
    )
    active.output.append(done)


async def _function_call(
    conn: FakeConnection, active: Active, name: str, arguments: str, call_id: str | None
) -> None:
    item_id, call_id = conn.ids.new("item"), call_id or conn.ids.new("call")
    conn.call_ids.add(call_id)
    index = len(active.output)
    item = function_call_item(
        item_id, call_id=call_id, name=name, arguments="", status="in_progress"
    )
    await conn.send(
        {
            "type": "response.output_item.added",
            "response_id": active.id,
            "output_index": index,
            "item": item,
        }
    )
    common = {
        "response_id": active.id,
        "item_id": item_id,
        "output_index": index,
        "call_id": call_id,
    }
    await conn.send(
        {"type": "response.function_call_arguments.delta", **common, "delta": arguments}
    )
    await conn.send(
        {
            "type": "response.function_call_arguments.done",
            **common,
            "name": name,
            "arguments": arguments,
        }
    )
    done = function_call_item(
        item_id, call_id=call_id, name=name, arguments=arguments, status="completed"
    )
    await conn.send(
        {
            "type": "response.output_item.done",
            "response_id": active.id,
            "output_index": index,
            "item": done,
        }
    )
    active.output.append(done)
