"""One realtime model session per call, over the openai SDK's websocket connection.

Shape (after the LiveKit OpenAI plugin): callers enqueue client events without
blocking; one send task drains that queue; one receive task parses each server
event and hands it to `InboundTranslator`, which turns it into a small typed event
for the call layer (see `events.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from openai import AsyncOpenAI, OpenAIError
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import (
    RealtimeClientEventParam,
    RealtimeErrorEvent,
    RealtimeServerEvent,
    RealtimeSessionCreateRequestParam,
    SessionUpdatedEvent,
)
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from receptionist.core.logs import log
from receptionist.realtime.config import SessionConfig, session_param, tools_param
from receptionist.realtime.events import (
    RealtimeError,
    RealtimeEvent,
    RealtimeUnavailable,
    SessionClosed,
)
from receptionist.realtime.inbound import InboundTranslator
from receptionist.realtime.inbox import Inbox
from receptionist.realtime.redact import describe_endpoint
from receptionist.realtime.redact import install as install_log_redaction
from receptionist.realtime.usage import Usage
from receptionist.realtime.wire import (
    AudioDeltaFields,
    append_audio,
    close_code,
    expect_event,
    message_reader,
    parse_server_event,
    write_now,
)

logger = logging.getLogger(__name__)
install_log_redaction()

DEFAULT_MODEL = "gpt-realtime"
_CLOSE_TIMEOUT_S = 2.0


class RealtimeSession:
    """A realtime model session. Connect once, stream audio, consume `events()`, close.

    Every method except `connect`, `update_session` and `close` only enqueues and
    never blocks the caller: the audio path must not wait on the network.
    """

    def __init__(
        self,
        config: SessionConfig,
        *,
        api_key: str,
        model: str = DEFAULT_MODEL,
        websocket_base_url: str | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        self._config = config
        self._model = model
        self._endpoint = describe_endpoint(websocket_base_url)
        # A caller-supplied client (e.g. AsyncAzureOpenAI) is theirs to close.
        self._owns_client = client is None
        self._client = client or AsyncOpenAI(api_key=api_key, websocket_base_url=websocket_base_url)
        self._conn: AsyncRealtimeConnection | None = None
        # Events, or websocket text already encoded (the per-frame audio appends).
        self._outbound: asyncio.Queue[RealtimeClientEventParam | str | None] = asyncio.Queue()
        self._inbound: Inbox[RealtimeEvent] = Inbox()
        self._state = InboundTranslator(interrupt_response=config.interrupt_response)
        self._send_task: asyncio.Task[None] | None = None
        self._recv_task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed: SessionClosed | None = None
        self._event_seq = 0
        self._pending_updates: list[tuple[str, asyncio.Future[None]]] = []

    @property
    def config(self) -> SessionConfig:
        return self._config

    # -- lifecycle -----------------------------------------------------------------------

    # The timeout is part of the contract: expiry must become RealtimeUnavailable.
    async def connect(self, timeout: float = 10.0) -> None:
        """Open the websocket, wait for `session.created`, send our `session.update` and wait
        for `session.updated`. Raises RealtimeUnavailable on refusal, auth failure, timeout or
        a rejected configuration, so the call can go to the fallback instead of dead air."""
        if self._conn is not None or self._closing:
            raise RealtimeError("connect() may be called once per session")
        log(logger, logging.INFO, "realtime connecting", model=self._model, endpoint=self._endpoint)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(timeout):
                self._conn = await self._client.realtime.connect(model=self._model).enter()
                await expect_event(self._conn, "session.created")
                await self._conn.session.update(
                    session=session_param(self._config), event_id=self._next_event_id()
                )
                await expect_event(self._conn, "session.updated")
        except TimeoutError as exc:
            await self._abort_connect()
            raise RealtimeUnavailable(f"no session from the model within {timeout:g}s") from exc
        except InvalidStatus as exc:
            await self._abort_connect()
            status = exc.response.status_code
            hint = " (API key rejected)" if status in (401, 403) else ""
            raise RealtimeUnavailable(f"model endpoint refused: HTTP {status}{hint}") from exc
        except (InvalidHandshake, InvalidURI, OSError, ConnectionClosed, OpenAIError) as exc:
            await self._abort_connect()
            raise RealtimeUnavailable(f"model endpoint unreachable: {exc}") from exc
        except (RealtimeUnavailable, asyncio.CancelledError):
            await self._abort_connect()
            raise
        conn = self._conn
        self._send_task = asyncio.create_task(self._send_loop(conn), name="realtime-send")
        self._recv_task = asyncio.create_task(self._recv_loop(conn), name="realtime-recv")
        for task in (self._send_task, self._recv_task):
            task.add_done_callback(self._on_task_done)
        elapsed_ms = round((loop.time() - started) * 1000)
        log(logger, logging.INFO, "realtime session ready", model=self._model, ms=elapsed_ms)

    async def close(self) -> None:
        """Flush what is queued (briefly), close the websocket, end `events()`. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._outbound.put_nowait(None)
        if self._send_task is not None and not self._send_task.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await asyncio.shield(self._send_task)
        if self._conn is not None:
            with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await self._conn.close()
        for task in (self._send_task, self._recv_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._finish("closed")
        if self._owns_client:
            await self._client.close()

    async def _abort_connect(self) -> None:
        conn, self._conn = self._conn, None
        self._closing = True
        # Nothing was ever open: end events() quietly, the raised error says why.
        self._closed = SessionClosed("connect failed")
        self._inbound.put_nowait(self._closed)
        if conn is not None:
            with contextlib.suppress(TimeoutError, ConnectionClosed, OSError):
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await conn.close()
        if self._owns_client:
            await self._client.close()

    # -- what the call layer reads ---------------------------------------------------------

    async def next_event(self) -> RealtimeEvent:
        """The next event; once the session has closed, its SessionClosed every time."""
        while True:
            if self._closed is not None and self._inbound.empty():
                return self._closed
            # Audio of a reply the caller cut off still comes through: the turn machine
            # is the one place that drops it (receptionist/turns).
            return await self._inbound.get()

    async def events(self) -> AsyncIterator[RealtimeEvent]:
        """Every event in order, ending after SessionClosed."""
        while True:
            event = await self.next_event()
            yield event
            if isinstance(event, SessionClosed):
                return

    def __aiter__(self) -> AsyncIterator[RealtimeEvent]:
        return self.events()

    @property
    def current_response_id(self) -> str | None:
        """The response being produced now (between response.created and response.done)."""
        return self._state.current_response_id

    def is_interrupted(self, response_id: str) -> bool:
        """True if the response was cancelled, cut off by caller speech, or did not complete.

        Tool calls (transfer, hangup) from such a response must not be executed.
        """
        return self._state.is_interrupted(response_id)

    def mark_interrupted(self, response_id: str) -> None:
        """Record that the caller did not hear all of a response (barge-in during playback of
        audio the model had already finished): is_interrupted() is then true for it."""
        self._state.mark_interrupted(response_id)

    @property
    def usage(self) -> Usage:
        """What the session used so far (the sum of each response.done's usage)."""
        return self._state.usage

    def audio_received_ms(self, item_id: str) -> int:
        """Milliseconds of model audio received so far for an item."""
        return self._state.audio_received_ms(item_id)

    # -- what the call layer sends ---------------------------------------------------------

    async def update_session(
        self, *, instructions: str | None = None, tools: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """Change instructions and/or tools mid-call; returns once the model acknowledged,
        raises RealtimeError if it rejected the change. Bound it with asyncio.timeout."""
        if self._conn is None or self._closed is not None or self._closing:
            raise RealtimeError("session is not connected")
        session: RealtimeSessionCreateRequestParam = {"type": "realtime"}
        if instructions is not None:
            session["instructions"] = instructions
            self._config = dataclasses.replace(self._config, instructions=instructions)
        if tools is not None:
            session["tools"] = tools_param(tools)
            self._config = dataclasses.replace(self._config, tools=tuple(tools))
        event_id = self._next_event_id()
        entry = (event_id, asyncio.get_running_loop().create_future())
        self._pending_updates.append(entry)
        self._enqueue({"type": "session.update", "session": session, "event_id": event_id})
        try:
            await entry[1]
        finally:
            if entry in self._pending_updates:
                self._pending_updates.remove(entry)

    def send_audio(self, pcm24: bytes) -> None:
        """Append caller audio: pcm16 mono little-endian at 24 kHz."""
        if len(pcm24) % 2:
            raise ValueError("pcm16 audio must have an even number of bytes")
        if not pcm24:
            return
        text, conn = append_audio(pcm24), self._conn
        # At once unless something queued must go first (order is kept) or the socket would
        # make us wait: then the send task takes it like any other event.
        direct = self._send_task is not None and not self._closing and self._outbound.empty()
        if not (direct and conn is not None and write_now(conn, text)):
            self._enqueue(text)

    def request_response(self, instructions: str | None = None) -> None:
        """Ask the model to speak now (e.g. the greeting). `instructions` apply to this
        response only, on top of the session's."""
        if instructions is None:
            self._enqueue({"type": "response.create"})
        else:
            self._enqueue({"type": "response.create", "response": {"instructions": instructions}})

    def send_function_output(self, call_id: str, output: str, *, respond: bool = True) -> None:
        """Give the model a tool's result, then (by default) let it respond to it."""
        self._enqueue(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call_id, "output": output},
            }
        )
        if respond:
            self.request_response()

    def cancel_response(self) -> bool:
        """Cancel the response in progress, if any: its remaining audio is dropped here and
        is_interrupted() becomes true for it. Returns whether there was one to cancel."""
        response_id = self._state.current_response_id
        if response_id is None:
            return False
        self._state.mark_interrupted(response_id)
        self._enqueue({"type": "response.cancel", "response_id": response_id})
        return True

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> int:
        """Tell the model the caller heard only `audio_end_ms` of an item's audio.

        Clamped to the audio actually received (the API rejects more); returns the value sent.
        """
        heard = max(0, min(audio_end_ms, self._state.audio_received_ms(item_id)))
        if heard != audio_end_ms:
            log(
                logger,
                logging.WARNING,
                "truncate clamped to received audio",
                item_id=item_id,
                requested_ms=audio_end_ms,
                sent_ms=heard,
            )
        self._enqueue(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": content_index,
                "audio_end_ms": heard,
            }
        )
        return heard

    def _enqueue(self, event: RealtimeClientEventParam | str) -> None:
        if self._closing or self._closed is not None:
            kind = "input_audio_buffer.append" if isinstance(event, str) else event["type"]
            log(logger, logging.DEBUG, "realtime event dropped: session closed", type=kind)
            return
        self._outbound.put_nowait(event)

    def _next_event_id(self) -> str:
        self._event_seq += 1
        return f"rcpt_session_update_{self._event_seq}"

    # -- tasks -----------------------------------------------------------------------------

    async def _send_loop(self, conn: AsyncRealtimeConnection) -> None:
        while (event := await self._outbound.get()) is not None:
            try:
                if isinstance(event, str):
                    await conn.send_raw(event)
                else:
                    await conn.send(event)
            except ConnectionClosed:
                # The receive loop sees the same close and reports SessionClosed.
                log(logger, logging.DEBUG, "realtime send stopped: connection closed")
                return

    async def _recv_loop(self, conn: AsyncRealtimeConnection) -> None:
        receive = message_reader(conn)
        while True:
            try:
                raw = await receive()
            except ConnectionClosedOK as exc:
                self._finish("closed" if self._closing else f"server closed ({close_code(exc)})")
                return
            except ConnectionClosed as exc:
                self._finish(f"connection lost ({close_code(exc)})")
                return
            try:
                event = parse_server_event(conn, raw)
            except ValueError as exc:
                log(logger, logging.WARNING, "realtime message not JSON, skipped", error=exc)
                continue
            self._dispatch(event)

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        # A bug in our own handling: say so loudly and end the session so the call falls back.
        exc = task.exception()
        logger.error("realtime %s task failed", task.get_name(), exc_info=exc)
        self._finish(f"internal error in {task.get_name()}: {exc!r}")

    def _finish(self, reason: str) -> None:
        if self._closed is not None:
            return
        self._closed = SessionClosed(reason)
        for _, future in self._pending_updates:
            if not future.done():
                future.set_exception(RealtimeError(f"session closed: {reason}"))
        self._outbound.put_nowait(None)
        self._inbound.put_nowait(self._closed)
        level = logging.INFO if reason == "closed" else logging.WARNING
        log(logger, level, "realtime session closed", reason=reason)

    def _dispatch(self, event: RealtimeServerEvent | AudioDeltaFields) -> None:
        if type(event) is not dict:  # an audio delta (wire.py), the per-frame path, skips these
            if isinstance(event, SessionUpdatedEvent):
                # session.updated carries no event_id: acknowledgements arrive in request order.
                if self._pending_updates:
                    _, future = self._pending_updates.pop(0)
                    if not future.done():
                        future.set_result(None)
                return
            if isinstance(event, RealtimeErrorEvent) and self._reject_update(event):
                return
        translated = self._state.translate(event)
        if translated is not None:
            self._inbound.put_nowait(translated)

    def _reject_update(self, event: RealtimeErrorEvent) -> bool:
        """Fail the update_session() waiting on the client event this error refers to."""
        error = getattr(event, "error", None)  # the SDK does not validate: it may be missing
        event_id = getattr(error, "event_id", None)
        for entry in self._pending_updates:
            if event_id is not None and entry[0] == event_id:
                self._pending_updates.remove(entry)
                if not entry[1].done():
                    message = getattr(error, "message", "")
                    entry[1].set_exception(RealtimeError(f"session.update: {message}"))
                return True
        return False
