"""A fake OpenAI Realtime server (GA protocol) on 127.0.0.1 for tests.

Point the SDK at it with `AsyncOpenAI(websocket_base_url=server.url)` (path
`/v1/realtime`). Every client event is validated against `openai.types.realtime`
(unknown fields included) and recorded; so is every event the fake sends. What the
model does is scripted per test with a `Script` (see realtime_script.py); speech in
the received audio is found with an energy threshold, as server VAD would.

    async with FakeRealtimeServer(Script(replies=[Reply(tone(1000, 0.5), "Hello")])) as server:
        ...connect to server.url...
        await server.wait_for("response.create")
        assert server.invalid_events == []
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel

from tests.fakes.realtime_connection import FakeConnection
from tests.fakes.realtime_script import Reply, Script, ToolCall
from tests.fakes.realtime_wire import SERVER_EVENTS, Ids, InvalidEvent, validate

LEAN_SAMPLE = 50
LEAN_TYPES = frozenset(
    {
        "input_audio_buffer.append",
        "sent:response.output_audio.delta",
        "sent:response.output_audio_transcript.delta",
    }
)

__all__ = ["FakeConnection", "FakeRealtimeServer", "InvalidEvent", "Reply", "Script", "ToolCall"]


class FakeRealtimeServer:
    """`async with FakeRealtimeServer(script) as server:`, then connect to `server.url`.

    `script` decides what the model does; assign `server.script` to change it at any time.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        realtime_factor: float | None = 5.0,
        chunk_ms: int = 40,
        speech_rms: float = 500.0,
        api_key: str | None = None,
        refuse_status: int | None = None,
        handshake_delay_s: float = 0.0,
        wait_timeout_s: float = 3.0,
        think_s: float = 0.0,
        lean: bool = False,
        detect_speech: bool = True,
        azure: bool = False,
    ) -> None:
        self.script = script or Script()
        self.realtime_factor = realtime_factor  # audio speed vs real time; None: no pacing
        self.chunk_ms = chunk_ms  # audio per response.output_audio.delta
        self.speech_rms = speech_rms  # pcm16 RMS of a 20 ms frame that counts as speech
        self.api_key = api_key  # when set, any other bearer token gets HTTP 401
        self.refuse_status = refuse_status  # when set, every handshake gets this HTTP status
        self.handshake_delay_s = handshake_delay_s  # stall before answering the upgrade
        self.wait_timeout_s = wait_timeout_s  # bound for the wait_* helpers
        self.think_s = think_s  # the model's time to first audio of each response
        # Cleared, replies wait (after response.created) until it is set again: a test
        # holds the greeting until its simulated caller is listening.
        self.replies_open = asyncio.Event()
        self.replies_open.set()
        # Lean (for load benchmarks): of the per-frame audio events (LEAN_TYPES) validate and
        # keep only the first LEAN_SAMPLE, and count input audio instead of keeping it, so
        # memory stays flat.
        self.lean = lean
        self.detect_speech = detect_speech  # off: no turn detection, whatever the session says
        # Azure OpenAI's paths instead of OpenAI's: /openai/v1/realtime?model=<deployment>
        # and the dated /openai/realtime?api-version=..&deployment=.., the key in `api-key`.
        self.azure = azure
        self.handshakes: list[tuple[str, dict[str, str]]] = []  # (path, query) accepted
        self._seen: Counter[str] = Counter()
        self.ids = Ids()
        self.connections: list[FakeConnection] = []
        self.received: list[BaseModel] = []
        self.sent: list[dict[str, Any]] = []
        self.sent_at: list[float] = []  # monotonic time each event in `sent` went out
        self.invalid_events: list[InvalidEvent] = []
        self.invalid_sent: list[InvalidEvent] = []
        self.rejected_handshakes: list[int] = []
        self.upgrade_requests = 0  # seen, stalled and refused ones included
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- what tests read -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The SDK's `websocket_base_url` for this server."""
        return f"ws://127.0.0.1:{self._port}/v1"

    @property
    def endpoint(self) -> str:
        """The Azure resource endpoint (http) standing in for https://<name>.openai.azure.com."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def connection(self) -> FakeConnection:
        """The most recent connection."""
        return self.connections[-1]

    @property
    def input_audio(self) -> bytes:
        """pcm16 24 kHz audio received on the most recent connection."""
        return bytes(self.connection.input_audio) if self.connections else b""

    def events(self, event_type: str) -> list[Any]:
        """Validated client events of one type in arrival order (the SDK's pydantic models)."""
        return [e for e in self.received if getattr(e, "type", None) == event_type]

    def first_sent_at(self, event_type: str) -> float:
        """When the first event of `event_type` was sent (monotonic clock)."""
        return next(
            t for t, e in zip(self.sent_at, self.sent, strict=True) if e["type"] == event_type
        )

    def sent_events(self, event_type: str) -> list[dict[str, Any]]:
        """Server events of one type the fake sent, as they went on the wire."""
        return [e for e in self.sent if e["type"] == event_type]

    async def wait_for(self, event_type: str, count: int = 1) -> list[Any]:
        """Wait until `count` client events of `event_type` arrived; returns all of them."""
        await self.wait_until(lambda: len(self.events(event_type)) >= count)
        return self.events(event_type)

    async def wait_sent(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        """Wait until the fake has sent `count` events of `event_type`."""
        await self.wait_until(lambda: len(self.sent_events(event_type)) >= count)
        return self.sent_events(event_type)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(self.wait_timeout_s), self._changed:
            await self._changed.wait_for(predicate)

    async def drop(self, *, abrupt: bool = True) -> None:
        """Drop every live connection (see FakeConnection.drop)."""
        for conn in self.connections:
            await conn.drop(abrupt=abrupt)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        if self.azure:
            app.router.add_get("/openai/v1/realtime", self._handle)
            app.router.add_get("/openai/realtime", self._handle)
        else:
            app.router.add_get("/v1/realtime", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping.set()
        for conn in self.connections:
            await conn.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeRealtimeServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.upgrade_requests += 1
        await self._notify()
        if self.handshake_delay_s:
            # Interruptible, so stop() need not wait out the stall.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.handshake_delay_s):
                    await self._stopping.wait()
        status = self.refuse_status
        if self.azure:
            given, expected = request.headers.get("api-key"), self.api_key
        else:
            given, expected = request.headers.get("Authorization"), f"Bearer {self.api_key}"
        if status is None and self.api_key is not None and given != expected:
            status = 401
        if status is None and self.azure and not _azure_query_ok(request):
            status = 404  # as Azure answers a wrong path or a missing deployment
        if status is not None:
            self.rejected_handshakes.append(status)
            code = "invalid_api_key" if status == 401 else None
            error = {
                "message": "refused by the fake",
                "type": "invalid_request_error",
                "code": code,
            }
            return web.json_response({"error": error}, status=status)
        self.handshakes.append((request.path, dict(request.query)))
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        conn = FakeConnection(self, request, ws)
        self.connections.append(conn)
        await conn.script.on_connect(conn)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await conn.handle(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await self.record_invalid(msg.data, "binary frame: the API speaks JSON text")
        if conn.active is not None and conn.active.task is not None:
            conn.active.task.cancel()
        return ws

    # -- recording (called by connections) -----------------------------------------------

    def sampled(self, event_type: str) -> bool:
        """Whether this event is validated and recorded: always, unless lean and the type is
        one of the per-frame audio events already sampled LEAN_SAMPLE times."""
        if not self.lean or event_type not in LEAN_TYPES:
            return True
        self._seen[event_type] += 1
        return self._seen[event_type] <= LEAN_SAMPLE

    async def record_received(self, event: BaseModel) -> None:
        self.received.append(event)
        await self._notify()

    async def record_invalid(self, event: object, error: str) -> None:
        self.invalid_events.append(InvalidEvent(event, error))
        await self._notify()

    async def record_sent(self, event: dict[str, Any]) -> None:
        parsed = validate(event, SERVER_EVENTS)
        if isinstance(parsed, str):
            self.invalid_sent.append(InvalidEvent(event, parsed))
        self.sent.append(event)
        self.sent_at.append(time.monotonic())
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _azure_query_ok(request: web.Request) -> bool:
    """v1 names the deployment as `model`; a dated version needs api-version and deployment."""
    if request.path == "/openai/v1/realtime":
        return bool(request.query.get("model")) and "api-version" not in request.query
    return bool(request.query.get("api-version")) and bool(request.query.get("deployment"))
