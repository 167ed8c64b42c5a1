"""AudioSocket TCP server: Asterisk connects, sends the UUID we issued, then streams audio.

AudioSocket has no authentication, so a connection is kept only if its first frame is a
UUID the call layer registered (and each UUID is good for one connection). The call layer:

    fut = server.register(leg_uuid, call_id=call.id)   # before POST /channels/externalMedia
    try:
        conn = await asyncio.wait_for(fut, timeout=5)
    finally:
        server.unregister(leg_uuid)
    async for frame in conn: ...                        # AudioFrame | DtmfFrame until closed
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from receptionist.audiosocket.connection import (
    CLOSE_TIMEOUT,
    READ_SIZE,
    RX_QUEUE_FRAMES,
    AudioSocketClosed,
    AudioSocketConnection,
    LegStreamProtocol,
    wait_closed,
)
from receptionist.audiosocket.protocol import MAX_PAYLOAD, Decoder, Frame, ProtocolError, UuidFrame
from receptionist.audiosocket.refusals import RefusalLog
from receptionist.core.logs import call_id_var, log

logger = logging.getLogger(__name__)

# Asterisk sends its UUID as soon as it connects; anything slower is not Asterisk.
FIRST_FRAME_TIMEOUT = 2.0
# Connections that have not yet identified themselves, at most: beyond, a new one is
# closed at once, so junk connections can hold only this many file descriptors and the
# rest stay free for calls. Asterisk identifies within milliseconds, so even a burst
# of call setups stays far below it.
MAX_HANDSHAKES = 128

__all__ = ["AudioSocketClosed", "AudioSocketConnection", "AudioSocketServer"]


@dataclass
class _Registration:
    future: asyncio.Future[AudioSocketConnection]
    call_id: str | None


class AudioSocketServer:
    """Listens for Asterisk's AudioSocket legs and hands each to the call that registered it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        first_frame_timeout: float = FIRST_FRAME_TIMEOUT,
        max_payload: int = MAX_PAYLOAD,
        rx_queue_frames: int = RX_QUEUE_FRAMES,
        max_handshakes: int = MAX_HANDSHAKES,
    ) -> None:
        self.host = host
        self._port = port
        self._first_frame_timeout = first_frame_timeout
        self._max_payload = max_payload
        self._rx_queue_frames = rx_queue_frames
        self._server: asyncio.Server | None = None
        self._pending: dict[uuid.UUID, _Registration] = {}
        self._connections: set[AudioSocketConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._handshaking: set[asyncio.Task[None]] = set()
        self._max_handshakes = max_handshakes
        self.refusals = RefusalLog()

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        if self._server is None:
            raise RuntimeError("AudioSocketServer not started")
        return self._port

    @property
    def listening(self) -> bool:
        """Whether Asterisk can connect right now."""
        return self._server is not None and self._server.is_serving()

    @property
    def connections(self) -> frozenset[AudioSocketConnection]:
        return frozenset(self._connections)

    async def start(self) -> None:
        self.refusals.watch_accept_errors(asyncio.get_running_loop())
        loop = asyncio.get_running_loop()

        def leg_protocol() -> LegStreamProtocol:  # what asyncio.start_server makes, but ours
            return LegStreamProtocol(asyncio.StreamReader(loop=loop), self._on_client, loop=loop)

        self._server = await loop.create_server(leg_protocol, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log(logger, logging.INFO, "audiosocket listening", host=self.host, port=self._port)

    async def __aenter__(self) -> AudioSocketServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def register(
        self, leg_uuid: uuid.UUID, *, call_id: str | None = None
    ) -> asyncio.Future[AudioSocketConnection]:
        """Expect one connection for `leg_uuid`; the future resolves when Asterisk connects.

        Register before asking ARI for the externalMedia channel (Asterisk gives up
        connecting after 2 s). Cancelling the future (e.g. wait_for timing out) withdraws it.
        """
        if leg_uuid in self._pending and not self._pending[leg_uuid].future.done():
            raise ValueError(f"uuid {leg_uuid} is already registered")
        future: asyncio.Future[AudioSocketConnection] = asyncio.get_running_loop().create_future()
        self._pending[leg_uuid] = _Registration(future, call_id)
        return future

    def unregister(self, leg_uuid: uuid.UUID) -> None:
        """Withdraw a registration (no-op once connected or if unknown)."""
        reg = self._pending.pop(leg_uuid, None)
        if reg is not None and not reg.future.done():
            reg.future.cancel()

    async def close(self, reason: str = "server closing") -> None:
        """Stop listening, close every leg, and wait for the connection tasks to end."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.close(reason)
        for reg in self._pending.values():
            if not reg.future.done():
                reg.future.cancel()
        self._pending.clear()
        for task in list(self._handshaking):
            task.cancel()
        if self._tasks:
            _, still = await asyncio.wait(set(self._tasks), timeout=CLOSE_TIMEOUT * 2)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)
        if self._server is not None:
            await self._server.wait_closed()
        self.refusals.close()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer, task)
        finally:
            self._tasks.discard(task)
            writer.close()  # idempotent; covers cancellation during the handshake

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, task: asyncio.Task[None]
    ) -> None:
        peer = _peer(writer)
        if len(self._handshaking) >= self._max_handshakes:
            return await self._refuse(writer, peer, "too many unidentified connections")
        decoder = Decoder(self._max_payload)
        timeout = self._first_frame_timeout
        self._handshaking.add(task)
        try:
            async with asyncio.timeout(timeout):  # no task per connection, unlike wait_for
                frames = await _read_frames(reader, decoder)
        except TimeoutError:
            return await self._refuse(writer, peer, f"no frame within {timeout:g}s")
        except ProtocolError as exc:
            return await self._refuse(writer, peer, f"protocol error: {exc}")
        except ConnectionError as exc:
            return await self._refuse(writer, peer, f"read failed: {exc}")
        finally:
            self._handshaking.discard(task)
        if not frames:
            return await self._refuse(writer, peer, "closed before sending a uuid")
        first, rest = frames[0], frames[1:]
        if not isinstance(first, UuidFrame):
            return await self._refuse(
                writer, peer, f"first frame is {type(first).__name__}, not uuid"
            )
        reg = self._pending.pop(first.uuid, None)
        if reg is None or reg.future.done():
            return await self._refuse(writer, peer, "unknown uuid", uuid=first.uuid)

        if reg.call_id is not None:
            call_id_var.set(reg.call_id)  # this task's log lines carry the call id
        conn = AudioSocketConnection(
            first.uuid, reader, writer, decoder, peer=peer, rx_queue_frames=self._rx_queue_frames
        )
        self._connections.add(conn)
        log(logger, logging.INFO, "audiosocket connected", uuid=first.uuid, peer=peer)
        reg.future.set_result(conn)
        try:
            await conn._run(rest)
        finally:
            self._connections.discard(conn)

    async def _refuse(
        self, writer: asyncio.StreamWriter, peer: str, reason: str, **fields: object
    ) -> None:
        self.refusals.refused(peer, reason, **fields)
        writer.close()
        await wait_closed(writer)


async def _read_frames(reader: asyncio.StreamReader, decoder: Decoder) -> list[Frame]:
    """Read until at least one frame decodes; [] if the peer closes first."""
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            return []
        frames = decoder.feed(data)
        if frames:
            return frames


def _peer(writer: asyncio.StreamWriter) -> str:
    info = writer.get_extra_info("peername")
    with contextlib.suppress(TypeError, IndexError):
        return f"{info[0]}:{info[1]}"
    return str(info)
