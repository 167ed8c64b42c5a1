"""One AudioSocket media leg as the call layer sees it: caller frames in, audio out."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable

from receptionist.audiosocket.protocol import (
    AudioFrame,
    Decoder,
    DtmfFrame,
    ErrorFrame,
    Frame,
    HangupFrame,
    ProtocolError,
    UuidFrame,
    encode_audio,
    encode_hangup,
)
from receptionist.core.logs import log

logger = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
# 10 s of 20 ms frames: a consumer further behind than that has stalled, and stale caller
# audio is worth less than fresh audio, so the oldest frames are dropped.
RX_QUEUE_FRAMES = 500
CLOSE_TIMEOUT = 1.0
UNSENT_LIMIT = 64 * 1024  # about 2 s of slin16 that Asterisk has not read

Received = AudioFrame | DtmfFrame


class LegStreamProtocol(asyncio.StreamReaderProtocol):
    """asyncio's stream protocol, which can hand received bytes straight to a callback.

    A StreamReader costs every 20 ms frame a buffer copy, a future and a task switch to
    the reading task. Once a leg is identified its bytes go to `on_data` instead, in the
    loop's own read callback; the StreamReader then only sees the end of the stream.
    """

    on_data: Callable[[bytes], None] | None = None

    def data_received(self, data: bytes) -> None:
        if self.on_data is not None:
            self.on_data(data)
        else:
            super().data_received(data)


class AudioSocketClosed(ConnectionError):
    """Sending on a connection that is closed (by us, by Asterisk, or by an error)."""


class AudioSocketConnection:
    """One Asterisk media leg. Iterate it for caller frames; send audio back; hang up.

    Owned by the call layer once the registration future resolves. Iteration yields
    AudioFrame and DtmfFrame and ends when the leg closes; `close_reason` then says why.
    """

    def __init__(
        self,
        leg_uuid: uuid.UUID,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: Decoder,
        *,
        peer: str,
        rx_queue_frames: int = RX_QUEUE_FRAMES,
    ) -> None:
        self.uuid = leg_uuid
        self.peer = peer
        self.rate: int | None = None  # rate of the last audio received; None before any
        self.close_reason: str | None = None
        self.frames_in = 0
        self.frames_out = 0
        self.dropped_frames = 0
        self._reader = reader
        self._writer = writer
        self._transport = writer.transport
        self._decoder = decoder
        self._rx: asyncio.Queue[Received | None] = asyncio.Queue(rx_queue_frames)
        self._closed = asyncio.Event()
        self._on_frame: Callable[[Received], None] | None = None

    @property
    def closed(self) -> bool:
        return self.close_reason is not None

    def __aiter__(self) -> AsyncIterator[Received]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Received]:
        while (frame := await self.recv()) is not None:
            yield frame

    async def recv(self) -> Received | None:
        """The next caller frame, or None once the leg is closed and drained."""
        item = await self._rx.get()
        if item is None:
            self._rx.put_nowait(None)  # keep the end marker for later callers
        return item

    def consume(self, on_frame: Callable[[Received], None]) -> None:
        """Hand every caller frame to `on_frame` as it is read (frames already queued
        first), instead of queueing it for recv(): one task hop less per frame, which at
        a hundred calls is a good part of the event loop's work. recv() then returns
        only the end of the leg (None)."""
        while not self._rx.empty():
            item = self._rx.get_nowait()
            if item is None:
                self._rx.put_nowait(None)
                break
            on_frame(item)
        self._on_frame = on_frame

    def send_audio(self, pcm: bytes, rate: int = 16000) -> None:
        """Send one audio frame (call at the playout pace; see audio.writer.PacedWriter).

        Never waits: the kernel takes a frame at once while Asterisk keeps reading. If
        it stops reading for UNSENT_LIMIT worth of audio, the leg is stuck: it is closed
        and AudioSocketClosed raised, rather than queueing audio nobody will hear.
        """
        data = encode_audio(pcm, rate)  # raises on empty/odd audio before touching the wire
        transport = self._transport  # the StreamWriter's own, without its wrapper calls
        if self.close_reason is not None or transport.is_closing():
            raise AudioSocketClosed(f"audiosocket leg closed: {self.close_reason}")
        if transport.get_write_buffer_size() > UNSENT_LIMIT:
            self._shutdown("peer stopped reading")
            raise AudioSocketClosed(f"audiosocket leg closed: {self.close_reason}")
        transport.write(data)
        self.frames_out += 1

    def hangup(self) -> None:
        """Ask Asterisk to hang up the leg, then close. Idempotent."""
        if not self.closed and not self._writer.is_closing():
            self._writer.write(encode_hangup())  # flushed by the transport before it closes
        self._shutdown("hangup sent")

    def close(self, reason: str = "closed locally") -> None:
        """Close the socket (Asterisk hangs the leg up when it sees EOF). Idempotent."""
        self._shutdown(reason)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def _shutdown(self, reason: str) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        self._writer.close()

    def _deliver(self, frame: Received) -> None:
        if self._on_frame is not None:
            self._on_frame(frame)
            return
        if self._rx.full():
            self._rx.get_nowait()
            self.dropped_frames += 1
            if self.dropped_frames == 1:
                log(
                    logger,
                    logging.WARNING,
                    "audiosocket consumer behind, dropping old frames",
                    uuid=self.uuid,
                )
        self._rx.put_nowait(frame)

    def _handle(self, frame: Frame) -> bool:
        """Route one received frame; False when it ends the leg."""
        match frame:
            case AudioFrame(rate=rate):
                self.frames_in += 1
                if rate != self.rate:
                    log(
                        logger,
                        logging.INFO,
                        "audiosocket audio format",
                        uuid=self.uuid,
                        kind=f"0x{frame.kind:02x}",
                        rate=rate,
                        frame_bytes=len(frame.pcm),
                    )
                    self.rate = rate
                self._deliver(frame)
            case DtmfFrame():
                self._deliver(frame)
            case HangupFrame():
                self._shutdown("peer sent hangup")
                return False
            case ErrorFrame(code=code):
                self._shutdown(f"peer sent error code={code}")
                log(logger, logging.WARNING, "audiosocket peer error", uuid=self.uuid, code=code)
                return False
            case UuidFrame():
                self._fail("second uuid frame on an established leg")
                return False
        return True

    def _fail(self, reason: str) -> None:
        log(
            logger,
            logging.WARNING,
            "audiosocket leg dropped",
            uuid=self.uuid,
            peer=self.peer,
            reason=reason,
        )
        self._shutdown(reason)

    async def _run(self, initial: list[Frame]) -> None:
        """Read until the leg ends; runs in the server's connection task."""
        try:
            if all(self._handle(f) for f in initial):
                await self._read_loop()
        finally:
            if self.close_reason is None:
                self.close_reason = "closed"
            self._writer.close()
            self._deliver_end()  # the consumer learns at once; the socket may take longer
            await wait_closed(self._writer)
            self._closed.set()
            log(
                logger,
                logging.INFO,
                "audiosocket disconnected",
                uuid=self.uuid,
                reason=self.close_reason,
                frames_in=self.frames_in,
                frames_out=self.frames_out,
            )

    async def _read_loop(self) -> None:
        protocol = self._writer.transport.get_protocol()
        while not self.closed:
            try:
                data = await self._reader.read(READ_SIZE)
            except ConnectionError as exc:
                self._shutdown(f"read failed: {exc}")
                return
            if self.closed:  # we closed it ourselves while the read was pending
                return
            if not data:
                self._at_eof()
                return
            if not self._on_data(data):
                return
            # A read shorter than asked for emptied the reader's buffer, and nothing can
            # arrive before the next await: from here bytes come in order to _on_data,
            # and this loop only waits for the end of the stream.
            if isinstance(protocol, LegStreamProtocol) and protocol.on_data is None:
                protocol.on_data = self._on_data_received if len(data) < READ_SIZE else None

    def _on_data_received(self, data: bytes) -> None:
        if not self.closed:
            self._on_data(data)

    def _on_data(self, data: bytes) -> bool:
        """Decode and route received bytes; False once the leg has ended."""
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as exc:
            if all(self._handle(f) for f in exc.frames):
                self._fail(f"protocol error: {exc}")
            return False
        if len(frames) == 1:  # the usual read: one frame (no generator for it)
            frame = frames[0]
            if type(frame) is AudioFrame and frame.rate == self.rate and self._on_frame:
                self.frames_in += 1  # what _handle and _deliver do with it, in short
                self._on_frame(frame)
                return True
            return self._handle(frame)
        return all(self._handle(frame) for frame in frames)

    def _at_eof(self) -> None:
        try:
            self._decoder.eof()
        except ProtocolError as exc:
            self._fail(f"protocol error: {exc}")
            return
        self._shutdown("peer closed")

    def _deliver_end(self) -> None:
        if self._rx.full():
            self._rx.get_nowait()
            self.dropped_frames += 1
        self._rx.put_nowait(None)


async def wait_closed(writer: asyncio.StreamWriter) -> None:
    # A peer that stops reading can hold a graceful close open forever; abort after a bound.
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
    except TimeoutError:
        writer.transport.abort()
    except ConnectionError:
        pass
