"""Clients for the pipeline's three OpenAI-compatible endpoints, over the openai SDK.

The same code talks to OpenAI's own APIs, to a gateway, or to servers on the premises
(whisper.cpp or faster-whisper servers; Ollama, llama.cpp or vLLM; Piper or Kokoro
servers): only the base URL, the model name and the key differ.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from openai import APIConnectionError, APIStatusError, AsyncOpenAI
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from receptionist.audio.resample import StreamResampler
from receptionist.realtime.config import SAMPLE_RATE
from receptionist.realtime.events import RealtimeUnavailable

# A stalled server must not hold a caller: replies have their own first-audio deadline.
REQUEST_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str
    api_key: str | None = None

    def client(self) -> AsyncOpenAI:
        # Local servers need no key, but the SDK insists on one: send a placeholder.
        # No retries: a reply is better late by a filler than late by a retry loop.
        return AsyncOpenAI(
            base_url=self.base_url,
            api_key=self.api_key or "no-key",
            max_retries=0,
            timeout=REQUEST_TIMEOUT_S,
        )


@dataclass(frozen=True, slots=True)
class SpeechEndpoint(Endpoint):
    voice: str = "alloy"
    format: Literal["pcm", "wav"] = "pcm"
    sample_rate: int = SAMPLE_RATE  # of raw pcm; a wav says its own


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    transcription: Endpoint
    chat: Endpoint
    speech: SpeechEndpoint
    silence_ms: int = 500
    max_reply_tokens: int = 400


@dataclass(frozen=True, slots=True)
class PipelineClients:
    """One SDK client per endpoint. Shared by every call of a business: each holds only
    settings and a connection pool, and building three per call cost memory and time."""

    transcription: AsyncOpenAI
    chat: AsyncOpenAI
    speech: AsyncOpenAI

    @classmethod
    def for_config(cls, config: PipelineConfig) -> PipelineClients:
        return cls(config.transcription.client(), config.chat.client(), config.speech.client())

    async def close(self) -> None:
        for client in (self.transcription, self.chat, self.speech):
            await client.close()


async def probe(name: str, client: AsyncOpenAI) -> str:
    """Reach an endpoint (`GET models`); what it said, or RealtimeUnavailable.

    A server without a models route (404/405) is up: whisper.cpp's server has none."""
    try:
        page = await client.models.list()
    except APIStatusError as exc:
        if exc.status_code in (404, 405):
            return f"{name}: reachable (no models list)"
        hint = " (API key rejected)" if exc.status_code in (401, 403) else ""
        raise RealtimeUnavailable(f"{name} endpoint refused: HTTP {exc.status_code}{hint}") from exc
    except APIConnectionError as exc:
        raise RealtimeUnavailable(f"{name} endpoint unreachable: {exc}") from exc
    models = [m.id for m in page.data]
    return f"{name}: reachable, {len(models)} model(s): {', '.join(models[:5])}"


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


async def transcribe(client: AsyncOpenAI, model: str, pcm16k: bytes, language: str | None) -> str:
    """`POST /audio/transcriptions` (multipart, a 16 kHz wav): the caller's words."""
    extra: dict[str, Any] = {"language": language} if language else {}
    result = await client.audio.transcriptions.create(
        model=model,
        file=("caller.wav", wav_bytes(pcm16k, 16000), "audio/wav"),
        response_format="json",
        **extra,
    )
    return str(result.text).strip()


def chat_tools(tools: Iterable[Mapping[str, Any]]) -> list[ChatCompletionToolParam]:
    """Realtime function tools ({type, name, description, parameters}) in chat form."""
    return [
        {
            "type": "function",
            "function": {
                "name": str(t["name"]),
                "description": str(t.get("description", "")),
                "parameters": dict(t.get("parameters", {"type": "object", "properties": {}})),
            },
        }
        for t in tools
    ]


async def chat_stream(
    client: AsyncOpenAI,
    model: str,
    messages: Sequence[ChatCompletionMessageParam],
    tools: Sequence[ChatCompletionToolParam],
    max_tokens: int,
) -> AsyncIterator[ChatCompletionChunk]:
    """`POST /chat/completions` with stream=true: the chunks as they arrive."""
    extra: dict[str, Any] = {"tools": list(tools)} if tools else {}
    stream = await client.chat.completions.create(
        model=model,
        messages=list(messages),
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=max_tokens,
        **extra,
    )
    async with stream:
        async for chunk in stream:
            yield chunk


class _WavStream:
    """The pcm of a streamed wav: the header is read as it arrives (streaming servers
    write an unknown length), then every byte after the `data` chunk header is audio."""

    def __init__(self) -> None:
        self._head = bytearray()
        self.rate: int | None = None
        self._in_data = False

    def feed(self, chunk: bytes) -> bytes:
        if self._in_data:
            return chunk
        self._head += chunk
        head = self._head
        if len(head) < 12:
            return b""
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError("speech endpoint: not a wav stream")
        pos = 12
        while pos + 8 <= len(head):
            kind, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
            if kind == b"data":
                if self.rate is None:
                    raise ValueError("speech endpoint: wav without a fmt chunk")
                self._in_data = True
                rest = bytes(head[pos + 8 :])
                self._head.clear()
                return rest
            if pos + 8 + size > len(head):
                return b""
            if kind == b"fmt ":
                fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", head[pos + 8 : pos + 24])
                if fmt != 1 or channels != 1 or bits != 16:
                    raise ValueError(
                        f"speech endpoint: wav must be 16-bit mono PCM "
                        f"(got format {fmt}, {channels} channel(s), {bits} bits)"
                    )
                self.rate = rate
            pos += 8 + size + (size & 1)
        return b""


async def synthesize(
    client: AsyncOpenAI, speech: SpeechEndpoint, text: str
) -> AsyncIterator[bytes]:
    """`POST /audio/speech`: the sentence's audio as 24 kHz pcm16, chunk by chunk as the
    server streams it (resampled with soxr when the server speaks another rate)."""
    wav = _WavStream() if speech.format == "wav" else None
    resampler: StreamResampler | None = None
    carry = b""
    async with client.audio.speech.with_streaming_response.create(
        model=speech.model,
        voice=cast(Any, speech.voice),
        input=text,
        response_format=speech.format,
    ) as response:
        async for chunk in response.iter_bytes():  # as it arrives: no waiting to fill a size
            pcm = wav.feed(chunk) if wav is not None else chunk
            if not pcm:
                continue
            if resampler is None:
                rate = wav.rate if wav is not None and wav.rate else speech.sample_rate
                resampler = StreamResampler(rate, SAMPLE_RATE)
            pcm = carry + pcm
            whole = len(pcm) // 2 * 2
            pcm, carry = pcm[:whole], pcm[whole:]
            out = resampler.process(pcm)
            if out:
                yield out
    if resampler is not None and (tail := resampler.flush()):
        yield tail
