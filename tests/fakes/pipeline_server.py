"""Fake OpenAI-compatible speech and chat servers on 127.0.0.1, for the pipeline provider.

One aiohttp app serves the three endpoints the pipeline uses (and `GET /v1/models`), as
OpenAI documents them and as whisper.cpp, Ollama, llama.cpp, vLLM, Piper and Kokoro
servers copy them:
- `POST /v1/audio/transcriptions` (multipart: file, model, ...) -> `{"text": ...}`, the
  script's next caller transcript;
- `POST /v1/chat/completions` with `stream: true` -> server-sent `chat.completion.chunk`s:
  the script's next reply, its text a few words per chunk, then its tool calls in pieces
  (id and name first, arguments in two deltas), a finish reason, and a usage chunk;
- `POST /v1/audio/speech` -> the reply's audio for that sentence, streamed (chunked) as
  raw 24 kHz pcm or a wav, paced at `realtime_factor`.
Every request is checked against the openai SDK's parameter types and every chunk sent
against its response models (`invalid` lists what failed). The same `Script` as the
Realtime fake decides what the model says, so call-flow tests run against both.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.pipeline_wire import (
    chat_request_errors,
    chunk_errors,
    speech_request_errors,
    transcription_form_errors,
)
from tests.fakes.realtime_script import Reply, Script, ToolCall

RATE = 24000


@dataclass
class SpokenReply:
    transcript: str
    audio: bytes  # pcm16 24 kHz


class FakePipelineServer:
    """`async with FakePipelineServer(script) as server:`; base URL `server.url`."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        api_key: str | None = None,
        refuse_status: int | None = None,
        handshake_delay_s: float = 0.0,
        realtime_factor: float | None = 5.0,
        chunk_ms: int = 40,
        think_s: float = 0.0,
        speech_format: str | None = None,  # None: as asked; "wav": a wav whatever was asked
        speech_rate: int = RATE,
        wait_timeout_s: float = 3.0,
    ) -> None:
        self.script = script or Script()
        self.api_key = api_key
        self.refuse_status = refuse_status  # every request gets this HTTP status
        self.handshake_delay_s = handshake_delay_s  # `GET /models` stalls this long
        self.realtime_factor = realtime_factor
        self.chunk_ms = chunk_ms
        self.think_s = think_s  # the chat model's time to its first chunk
        self.speech_format = speech_format
        self.speech_rate = speech_rate
        self.wait_timeout_s = wait_timeout_s
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (path, body or form fields)
        self.transcribed: list[bytes] = []  # 16-bit mono pcm of each upload
        self.transcribed_rates: list[int] = []
        self.invalid: list[str] = []
        self.spoken: list[SpokenReply] = []
        self.stalled = 0  # chat requests a silent script never answered
        # Cleared, replies wait until it is set again: a test holds the greeting until its
        # simulated caller is listening.
        self.replies_open = asyncio.Event()
        self.replies_open.set()
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- what tests read -------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def bodies(self, endpoint: str) -> list[dict[str, Any]]:
        """Requests to one endpoint ("chat/completions", "audio/speech", ...), in order."""
        return [body for path, body in self.requests if path == f"/v1/{endpoint}"]

    async def wait_requests(self, endpoint: str, count: int = 1) -> list[dict[str, Any]]:
        await self.wait_until(lambda: len(self.bodies(endpoint)) >= count)
        return self.bodies(endpoint)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(self.wait_timeout_s), self._changed:
            await self._changed.wait_for(predicate)

    # -- lifecycle -------------------------------------------------------------------
    async def __aenter__(self) -> FakePipelineServer:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/audio/speech", self._speech)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self, path: str, body: dict[str, Any], errors: list[str]) -> None:
        self.requests.append((path, body))
        self.invalid += [f"{path}: {e}" for e in errors]
        async with self._changed:
            self._changed.notify_all()

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        status = self.refuse_status
        bearer = request.headers.get("Authorization")
        if status is None and self.api_key is not None and bearer != f"Bearer {self.api_key}":
            status = 401
        if status is not None:
            code = "invalid_api_key" if status == 401 else None
            error = {"message": "refused by the fake", "type": "invalid_request_error"}
            error["code"] = code
            return web.json_response({"error": error}, status=status)
        response: web.StreamResponse = await handler(request)
        return response

    async def _pause(self, seconds: float) -> None:
        # Interruptible, so leaving the server need not wait out a stall.
        if seconds > 0:
            try:
                async with asyncio.timeout(seconds):
                    await self._stopping.wait()
            except TimeoutError:
                pass

    # -- endpoints -------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        await self._pause(self.handshake_delay_s)
        data = [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]
        return web.json_response({"object": "list", "data": data})

    async def _transcribe(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: (v if isinstance(v, str) else "<file>") for k, v in form.items()}
        errors = transcription_form_errors(set(form.keys()))
        upload = form.get("file")
        if upload is not None and not isinstance(upload, str):
            try:
                with wave.open(io.BytesIO(upload.file.read()), "rb") as w:
                    if w.getsampwidth() != 2 or w.getnchannels() != 1:
                        errors.append("file: not 16-bit mono")
                    self.transcribed.append(w.readframes(w.getnframes()))
                    self.transcribed_rates.append(w.getframerate())
            except (wave.Error, EOFError) as exc:
                errors.append(f"file: not a wav ({exc})")
        text = self.script.next_caller_transcript()
        await self._record(request.path, fields, errors)
        return web.json_response({"text": text})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await self._record(request.path, body, chat_request_errors(body))
        if getattr(self.script, "silent", False):
            self.stalled += 1
            await self._pause(3600)  # a model that never answers: held until the client goes
            return web.Response(status=503)
        reply = self.reply_for(body)
        await self.replies_open.wait()
        await self._pause(self.think_s)
        self.spoken.append(SpokenReply(reply.transcript, reply.audio))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        n = len(self.requests)
        for chunk in _chunks(f"chatcmpl-{n}", body["model"], reply):
            self.invalid += [f"chunk: {e}" for e in chunk_errors(chunk)]
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def reply_for(self, body: dict[str, Any]) -> Reply:
        """What the chat model answers this request with: the script's next reply."""
        return self.script.next_reply()

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await self._record(request.path, body, speech_request_errors(body))
        pcm = self._voice(str(body.get("input", "")))
        if self.speech_rate != RATE:
            pcm = _resample_plainly(pcm, RATE, self.speech_rate)
        fmt = self.speech_format or body.get("response_format", "mp3")
        response = web.StreamResponse(headers={"Content-Type": f"audio/{fmt}"})
        await response.prepare(request)
        if fmt == "wav":
            # As streaming servers write it: the length is not known yet.
            await response.write(_wav_header(self.speech_rate))
        elif fmt != "pcm":
            await response.write_eof()
            return response
        step = self.speech_rate * 2 * self.chunk_ms // 1000
        started = time.monotonic()
        for offset in range(0, len(pcm), step):
            if self.realtime_factor is not None:
                due = started + offset / (self.speech_rate * 2) / self.realtime_factor
                await self._pause(due - time.monotonic())
            await response.write(pcm[offset : offset + step])
        await response.write_eof()
        return response

    def _voice(self, text: str) -> bytes:
        """The slice of a scripted reply's audio that `text` (one sentence of it) covers,
        in proportion to its characters; 50 ms of silence a character otherwise."""
        needle = text.strip()
        for spoken in reversed(self.spoken):
            transcript = spoken.transcript
            start = transcript.find(needle)
            if not needle or start < 0 or not transcript:
                continue
            end = start + len(needle)
            if not transcript[:start].strip():
                start = 0
            if not transcript[end:].strip():
                end = len(transcript)
            samples = len(spoken.audio) // 2
            a = samples * start // len(transcript)
            b = samples * end // len(transcript)
            return spoken.audio[a * 2 : b * 2]
        return bytes(RATE * 2 * 50 * len(needle) // 1000)


def _chunks(chunk_id: str, model: str, reply: Reply) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [choice],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    words = reply.transcript.split(" ")
    for i in range(0, len(words), 3):
        piece = " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
        out.append(chunk({"content": piece}))
    for index, call in enumerate(reply.calls):
        out += [chunk({"tool_calls": [d]}) for d in _call_deltas(index, call, chunk_id)]
    out.append(chunk({}, "tool_calls" if reply.calls else "stop"))
    tokens = max(1, len(reply.transcript) // 4)
    usage = {"prompt_tokens": 100, "completion_tokens": tokens, "total_tokens": 100 + tokens}
    out.append(
        {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": usage,
        }
    )
    return out


def _call_deltas(index: int, call: ToolCall, chunk_id: str) -> list[dict[str, Any]]:
    arguments = call.arguments_json()
    half = len(arguments) // 2
    first = {
        "index": index,
        "id": call.call_id or f"call_{chunk_id}_{index}",
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    return [first] + [
        {"index": index, "function": {"arguments": part}}
        for part in (arguments[:half], arguments[half:])
        if part
    ]


def _wav_header(rate: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    unknown = 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", unknown)
    )


def _resample_plainly(pcm: bytes, rate_in: int, rate_out: int) -> bytes:
    """A server speaking another rate (Piper voices speak 22.05 kHz), by linear
    interpolation: good enough to stand in for a server's own output."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = len(x) * rate_out // rate_in
    y = np.interp(np.arange(n) * rate_in / rate_out, np.arange(len(x)), x)
    return y.astype("<i2").tobytes()
