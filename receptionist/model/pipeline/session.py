"""The pipeline provider's session: the `ModelSession` surface over three HTTP endpoints,
emitting the events a Realtime session does, so the turn machine's rules hold unchanged.

Caller audio -> our VAD (`Endpointer`) -> SpeechTentative (hold playback) and then
SpeechStarted (barge-in) or SpeechDismissed (play on) / SpeechStopped; the turn ->
`/audio/transcriptions` -> CallerTranscript; a reply -> `/chat/completions` (streamed,
with tools) -> each sentence, once complete, -> `/audio/speech` -> AudioDelta as it
streams; then AssistantTranscript, FunctionCall(s), ResponseDone. Caller speech cancels
the reply (barge-in); `truncate` keeps the sentences heard. An endpoint failing mid-call
ends the session (SessionClosed): the caller goes to a person, as on a Realtime drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

from openai import APIError, AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from receptionist.core.logs import log
from receptionist.model.pipeline.early import EarlyTurn
from receptionist.model.pipeline.endpoints import (
    PipelineClients,
    PipelineConfig,
    chat_stream,
    chat_tools,
    probe,
    synthesize,
    transcribe,
)
from receptionist.model.pipeline.reply import Reply, chat_messages, read_chat
from receptionist.model.pipeline.turn_taking import (
    UTTERANCE_RATE,
    Dismissed,
    Endpointer,
    Paused,
    Resumed,
    Started,
    Stopped,
    Tentative,
)
from receptionist.realtime.config import BYTES_PER_MS, SessionConfig
from receptionist.realtime.events import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    RealtimeError,
    RealtimeEvent,
    RealtimeUnavailable,
    ResponseDone,
    ResponseStarted,
    SessionClosed,
    SpeechDismissed,
    SpeechStarted,
    SpeechStopped,
    SpeechTentative,
)
from receptionist.realtime.usage import Usage

logger = logging.getLogger(__name__)
T = TypeVar("T")
BUSY = ModelError("a reply is already in progress", "conversation_already_has_active_response")
MAX_CALLER_TEXT = 1000  # characters of one caller turn kept from the transcription


class PipelineSession:
    def __init__(
        self,
        config: SessionConfig,
        pipeline: PipelineConfig,
        clients: PipelineClients | None = None,
    ) -> None:
        self._config = config
        self._pipeline = pipeline
        # Clients handed in are shared with other calls: theirs to close, not ours.
        self._shared = clients
        self._stt: AsyncOpenAI | None = None
        self._chat: AsyncOpenAI | None = None
        self._tts: AsyncOpenAI | None = None
        self._endpointer = Endpointer(pipeline.silence_ms)
        self._events: asyncio.Queue[RealtimeEvent] = asyncio.Queue()
        self._history: list[dict[str, Any]] = []
        self._outputs: dict[str, str] = {}  # tool call id -> output
        self._replies: dict[str, tuple[Reply, int]] = {}  # item id -> reply (for truncate)
        self._current: Reply | None = None
        self._reply_task: asyncio.Task[None] | None = None
        self._interrupted: set[str] = set()
        self._caller_item: str | None = None
        self._turns = asyncio.Lock()  # caller turns are transcribed one at a time, in order
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._closed: SessionClosed | None = None
        self._turn_ended_at: float | None = None  # when our VAD last ended a caller turn
        self._early: EarlyTurn | None = None  # started during the caller's pause
        self.usage = Usage()

    # -- lifecycle -----------------------------------------------------------------------
    async def connect(self, timeout: float = 10.0) -> None:
        """Reach each endpoint (concurrently): RealtimeUnavailable if one is down or refuses,
        so the call rings and goes to the fallback instead of into dead air."""
        if self._chat is not None or self._closed is not None:
            raise RealtimeError("connect() may be called once per session")
        shared = self._shared or PipelineClients.for_config(self._pipeline)
        self._stt, self._chat, self._tts = shared.transcription, shared.chat, shared.speech
        ends = {"transcription": self._stt, "chat": self._chat, "speech": self._tts}
        try:
            async with asyncio.timeout(timeout):
                found = await asyncio.gather(*(probe(n, c) for n, c in ends.items()))
        except TimeoutError as exc:
            await self._abort()
            raise RealtimeUnavailable(f"pipeline endpoints silent for {timeout:g}s") from exc
        except (RealtimeUnavailable, asyncio.CancelledError):
            await self._abort()
            raise
        log(logger, logging.INFO, "pipeline session ready", endpoints="; ".join(found))

    async def _abort(self) -> None:
        self._finish("connect failed")
        await self._close_clients()

    async def close(self) -> None:
        """Stop what is in flight, close the clients, end `events()`. Idempotent."""
        if self._early is not None:
            await self._early.cancel()
        tasks = [*self._tasks, *([self._reply_task] if self._reply_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._finish("closed")
        await self._close_clients()

    async def _close_clients(self) -> None:
        if self._shared is None:
            for client in (self._stt, self._chat, self._tts):
                if client is not None:
                    await client.close()
        self._stt = self._chat = self._tts = None

    def _finish(self, reason: str) -> None:
        if self._closed is not None:
            return
        self._closed = SessionClosed(reason)
        self._events.put_nowait(self._closed)
        level = logging.INFO if reason in ("closed", "connect failed") else logging.WARNING
        log(logger, level, "pipeline session closed", reason=reason)

    # -- what the call layer reads -------------------------------------------------------
    async def next_event(self) -> RealtimeEvent:
        while True:
            if self._closed is not None and self._events.empty():
                return self._closed
            event = await self._events.get()
            # Audio queued before a cancel or barge-in must not reach the caller.
            if isinstance(event, AudioDelta) and event.response_id in self._interrupted:
                continue
            return event

    async def events(self) -> AsyncIterator[RealtimeEvent]:
        while True:
            event = await self.next_event()
            yield event
            if isinstance(event, SessionClosed):
                return

    # -- caller audio and turn-taking ----------------------------------------------------
    def send_audio(self, pcm24: bytes) -> None:
        if len(pcm24) % 2:
            raise ValueError("pcm16 audio must have an even number of bytes")
        if self._closed is not None or not pcm24:
            return
        match self._endpointer.feed(pcm24):
            case Tentative(at_ms):  # the call holds playback; the reply goes on being made
                self._emit(SpeechTentative(audio_start_ms=at_ms))
            case Dismissed():
                self._emit(SpeechDismissed())
            case Started(at_ms):
                self._caller_item = item_id = f"item_caller_{next(self._ids)}"
                self._emit(SpeechStarted(audio_start_ms=at_ms, item_id=item_id))
                if self._config.interrupt_response and self._current is not None:
                    self._end_reply(self._current, "cancelled", "turn_detected")
            case Paused(pcm):  # start on the answer: the turn will most likely end as it is
                early = EarlyTurn(asyncio.create_task(self._transcribe(pcm), name="early-stt"))
                self._early = early
                self._spawn(self._prefetch(early))
            case Resumed():  # the caller went on: what was started is out of date
                self._drop_early()
            case Stopped(at_ms, pcm):
                item_id = self._caller_item or f"item_caller_{next(self._ids)}"
                self._caller_item = None
                self._emit(SpeechStopped(audio_end_ms=at_ms, item_id=item_id))
                started, self._early = self._early, None
                self._spawn(self._caller_turn(item_id, pcm, started))

    def _drop_early(self) -> None:
        if self._early is not None:
            self._spawn(self._early.cancel())
            self._early = None

    async def _prefetch(self, early: EarlyTurn) -> None:
        """With the early transcript, send the chat request the reply would make."""
        text = await early.transcription
        if not text or self._early is not early or self._current is not None:
            return
        if self._config.create_response and self._chat is not None:
            user: ChatCompletionMessageParam = {"role": "user", "content": text[:MAX_CALLER_TEXT]}
            messages = [*self._messages(None), user]
            early.prefetch(messages, self._chat_stream(messages))

    async def _transcribe(self, pcm: bytes) -> str | None:
        assert self._stt is not None
        self.usage.seconds_transcribed += len(pcm) / (UTTERANCE_RATE * 2)
        language = self._config.transcription_language
        model = self._pipeline.transcription.model
        return await self._guard("transcription", transcribe(self._stt, model, pcm, language))

    async def _caller_turn(self, item_id: str, pcm: bytes, early: EarlyTurn | None) -> None:
        self._turn_ended_at = time.monotonic()
        async with self._turns:  # transcripts reach the call in the order turns ended
            text = await (early.transcription if early else self._transcribe(pcm))
        if text is None:
            return
        # A speech server's output is untrusted text: 30 s of speech is ~500 characters.
        text = text[:MAX_CALLER_TEXT]
        ms = round((time.monotonic() - self._turn_ended_at) * 1000)
        log(logger, logging.INFO, "caller turn transcribed", item=item_id, ms=ms)
        self._emit(CallerTranscript(item_id=item_id, text=text))
        if not text:
            return  # noise, a cough: nothing to answer
        self._history.append({"role": "user", "content": text})
        # Answer unless the caller is talking again (their next turn will be answered).
        if self._config.create_response and self._current is None and not self._endpointer.speaking:
            self._start_reply(None, early)
        elif early is not None:
            await early.cancel()

    # -- replies -------------------------------------------------------------------------
    def request_response(self, instructions: str | None = None) -> None:
        self._start_reply(instructions, None)

    def _start_reply(self, instructions: str | None, early: EarlyTurn | None) -> None:
        if self._closed is not None:
            return
        if self._current is not None:
            self._emit(BUSY)  # as the Realtime API does: one reply at a time
            return
        n = next(self._ids)
        reply = self._current = Reply(response_id=f"resp_{n}", item_id=f"item_reply_{n}")
        self._emit(ResponseStarted(reply.response_id))
        task = self._reply(reply, instructions, early)
        self._reply_task = asyncio.create_task(task, name="reply")

    def _chat_stream(self, messages: list[ChatCompletionMessageParam]) -> AsyncIterator[Any]:
        assert self._chat is not None
        return chat_stream(
            self._chat,
            self._pipeline.chat.model,
            messages,
            chat_tools(self._config.tools),
            self._pipeline.max_reply_tokens,
        )

    async def _reply(self, reply: Reply, instructions: str | None, early: EarlyTurn | None) -> None:
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        speaker = asyncio.create_task(self._speak(reply, sentences), name="speak")
        try:
            messages = self._messages(instructions)
            if early is not None and early.messages == messages:
                chunks = early.replay()  # asked while the caller paused: read on from there
            else:
                if early is not None:
                    await early.cancel()
                chunks = self._chat_stream(messages)
            if await self._guard("chat", read_chat(reply, chunks, sentences.put_nowait)) is None:
                return
            sentences.put_nowait(None)
            if await self._guard("speech", speaker) is None:
                return
        finally:
            if not speaker.done():
                speaker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await speaker
        self._end_reply(reply, "completed", None)

    async def _speak(self, reply: Reply, sentences: asyncio.Queue[str | None]) -> bool:
        assert self._tts is not None
        while (sentence := await sentences.get()) is not None:
            self.usage.characters_synthesized += len(sentence)
            async for pcm in synthesize(self._tts, self._pipeline.speech, sentence):
                if reply.audio_ms == 0 and self._turn_ended_at is not None:
                    # The figure that matters: end of the caller's turn to reply audio.
                    ms = round((time.monotonic() - self._turn_ended_at) * 1000)
                    log(
                        logger,
                        logging.INFO,
                        "first reply audio",
                        response=reply.response_id,
                        ms_after_caller_turn=ms,
                    )
                reply.audio_ms += len(pcm) // BYTES_PER_MS
                self._emit(AudioDelta(reply.item_id, reply.response_id, 0, pcm))
            reply.spoken.append(sentence)
            reply.ends_ms.append(reply.audio_ms)
        return True

    def _end_reply(self, reply: Reply, status: str, reason: str | None) -> None:
        """Close a reply once: history, transcript, tool calls, ResponseDone."""
        if self._current is not reply:
            return
        self._current = None
        if self._reply_task is not None and status != "completed":
            self._reply_task.cancel()
        self._reply_task = None
        self.usage.text_in_tokens += reply.prompt_tokens
        self.usage.text_out_tokens += reply.completion_tokens
        completed = status == "completed"
        if not completed:
            self._interrupted.add(reply.response_id)
        message = reply.history_message(with_calls=completed)
        if message is not None:
            self._replies[reply.item_id] = (reply, len(self._history))
            self._history.append(message)
        partial: tuple[tuple[str, str], ...] = ()
        if completed and reply.spoken:
            self._emit(AssistantTranscript(reply.item_id, reply.response_id, reply.heard_text()))
        elif reply.spoken:
            partial = ((reply.item_id, reply.heard_text()),)
        if completed:
            for call_id, name, arguments in reply.tool_calls():
                self._emit(
                    FunctionCall(
                        call_id, name, arguments, reply.response_id, f"item_call_{call_id}"
                    )
                )
        done_status = cast(Any, status)
        self._emit(ResponseDone(reply.response_id, done_status, reason, partial))

    def _messages(self, instructions: str | None) -> list[ChatCompletionMessageParam]:
        system = self._config.instructions
        if instructions:
            system = f"{system}\n\n{instructions}"
        return chat_messages(system, self._history, self._outputs)

    def send_function_output(self, call_id: str, output: str, *, respond: bool = True) -> None:
        self._outputs[call_id] = output
        if respond:
            self.request_response()

    def cancel_response(self) -> bool:
        reply = self._current
        if reply is None:
            return False
        self._end_reply(reply, "cancelled", "client_cancelled")
        return True

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> int:
        """The caller heard `audio_end_ms` of a reply: the history keeps the sentences
        heard whole, so the chat model does not believe it said the rest."""
        entry = self._replies.get(item_id)
        if entry is None:
            return 0
        reply, index = entry
        heard = max(0, min(audio_end_ms, reply.audio_ms))
        text = reply.heard_text(heard)
        self._history[index] = {**self._history[index], "content": text or "(interrupted)"}
        return heard

    async def update_session(
        self, *, instructions: str | None = None, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        if self._closed is not None:
            raise RealtimeError("session is not connected")
        if instructions is not None:
            self._config = replace(self._config, instructions=instructions)
        if tools is not None:
            self._config = replace(self._config, tools=tuple(tools))

    # -- plumbing ------------------------------------------------------------------------
    def _emit(self, event: RealtimeEvent) -> None:
        if self._closed is None:
            self._events.put_nowait(event)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name="caller-turn")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, name: str, step: Awaitable[T]) -> T | None:
        """Run one endpoint step; a failed endpoint ends the session (the call falls back)."""
        try:
            return await step
        except (APIError, ValueError) as exc:
            log(
                logger,
                logging.ERROR,
                "pipeline endpoint failed",
                endpoint=name,
                error=str(exc)[:300],
            )
            self._finish(f"{name} endpoint failed: {type(exc).__name__}")
            return None
