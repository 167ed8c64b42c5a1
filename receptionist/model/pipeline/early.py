"""What the pipeline starts while the caller pauses, before their turn is over.

When the caller has been quiet 200 ms short of the silence window, their words are
transcribed and, with the transcript, the chat request the reply would make is sent;
its chunks are kept here. If the turn then ends as it was, the reply reads those chunks
(and whatever follows) instead of asking again: the transcription and the chat model's
first words are no longer on the caller's wait. If the caller goes on, all of it is
dropped (the transcription is still billed).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from openai.types.chat import ChatCompletionChunk


class EarlyTurn:
    def __init__(self, transcription: asyncio.Task[str | None]) -> None:
        self.transcription = transcription
        self.messages: Sequence[Any] | None = None  # the chat request sent early, if any
        self._chunks: list[ChatCompletionChunk] = []
        self._finished = False
        self._arrived = asyncio.Event()
        self._pull: asyncio.Task[None] | None = None

    def prefetch(self, messages: Sequence[Any], stream: AsyncIterator[ChatCompletionChunk]) -> None:
        """Start reading the chat stream for `messages` now, keeping what arrives."""
        self.messages = list(messages)
        self._pull = asyncio.create_task(self._read(stream), name="early-chat")

    async def _read(self, stream: AsyncIterator[ChatCompletionChunk]) -> None:
        try:
            async for chunk in stream:
                self._chunks.append(chunk)
                self._arrived.set()
        finally:
            self._finished = True
            self._arrived.set()

    async def replay(self) -> AsyncIterator[ChatCompletionChunk]:
        """Every chunk of the early chat request, those kept and those still to come; the
        request's own error, if it failed."""
        assert self._pull is not None
        index = 0
        while True:
            while index < len(self._chunks):
                yield self._chunks[index]
                index += 1
            if self._finished:
                await self._pull  # raises what the request raised
                return
            self._arrived.clear()
            await self._arrived.wait()

    async def cancel(self) -> None:
        tasks = [t for t in (self.transcription, self._pull) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
