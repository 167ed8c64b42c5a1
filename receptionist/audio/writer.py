"""Deadline-paced playout: cut PCM into 20 ms frames and send them in real time.

Asterisk neither paces nor bounds what we write: in a 2-party bridge frames queue without
limit (so barge-in could not stop audio already sent), and in a 3+-party mixing bridge a
channel more than ~80 ms ahead is flushed. So frames go out against an absolute monotonic
clock (frame k is due at anchor + k * 20 ms, no drifting sleep(0.02)) with a small
send-ahead, and the writer counts, per item, the audio it really sent: that is what the
caller hears and what `conversation.item.truncate` needs after a barge-in.

Many calls share one `PlayoutClock` (audio/clock.py): one timer pumps every call's
writer, instead of a timer and a task wake-up per call per frame, which at a hundred
calls is most of the event loop's work.

With `keepalive`, the writer never falls quiet: while nothing is queued it sends a
silence frame on the same timeline. In a bridge Asterisk sends the caller nothing while
nobody speaks (8-9 s gaps were captured between turns), and carriers, SBCs with RTP
inactivity timers and NAT bindings treat that as a dead call.

Nothing here knows AudioSocket: the send callback is injected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from receptionist.core.logs import log

if TYPE_CHECKING:
    from receptionist.audio.clock import PlayoutClock

logger = logging.getLogger(__name__)

SendFn = Callable[[bytes], None]
FirstFrameHook = Callable[[str, float], None]
ITEM_HISTORY = 64


@dataclass(frozen=True, slots=True)
class Playout:
    """How an item ended: milliseconds of its audio really sent, and whether cut short."""

    item_id: str
    played_ms: int
    interrupted: bool


class _Item:
    __slots__ = (
        "buf",
        "done",
        "end_at",
        "finished",
        "first_frame_at",
        "id",
        "interrupted",
        "queued",
        "received",
        "sent",
    )

    def __init__(self, item_id: str) -> None:
        self.id = item_id
        self.buf = bytearray()  # audio received but not yet sent
        self.received = 0  # bytes of audio received
        self.sent = 0  # bytes of received audio sent (padding excluded)
        self.finished = False  # no more audio will come
        self.interrupted = False  # cleared before all of it was sent
        self.queued = False
        self.first_frame_at: float | None = None
        self.end_at: float | None = None  # clock time its last sent frame ends playing
        self.done = asyncio.Event()


class PacedWriter:
    """Paced 20 ms playout of audio items (e.g. one per model response item).

    Feed it with `write(item_id, pcm)` (any chunk size) and `finish(item_id)`; run `run()`
    as a task. `clear()` is barge-in. Items play in the order they were first written; a
    new item finishes the previous one, so a frame never mixes two items.
    """

    def __init__(
        self,
        send: SendFn,
        *,
        rate: int = 16000,
        frame_ms: int = 20,
        send_ahead: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_first_frame: FirstFrameHook | None = None,
        playout_clock: PlayoutClock | None = None,
        keepalive: bool = False,
    ) -> None:
        if send_ahead < 0:
            raise ValueError("send_ahead must be >= 0 frames")
        self.rate = rate
        self.frame_ms = frame_ms
        self.frame_bytes = rate * frame_ms // 1000 * 2
        self.send_ahead = send_ahead
        self.on_first_frame = on_first_frame
        self.keepalive = keepalive
        self.silence_frames = 0  # keepalive frames sent while nothing was queued
        self.reanchors = 0  # times the clock restarted after running dry or stalling
        self._send = send
        self._clock = clock
        self._sleep = sleep
        self._frame_s = frame_ms / 1000
        self._queue: deque[_Item] = deque()
        self._items: OrderedDict[str, _Item] = OrderedDict()
        self._wake = asyncio.Event()
        self._anchor: float | None = None  # clock time frame 0 of this run of audio is due
        self._index = 0  # frames sent since the anchor
        self._stopped = False
        self._playout_clock = playout_clock
        self._audio_from = 0.0  # clock time before which queued audio waits (hold_audio)
        self._paused = False  # queued audio waits for resume() (or clear())

    def hold_audio(self, seconds: float) -> None:
        """Queued audio waits this long from now; keepalive silence goes on meanwhile."""
        self._audio_from = self._clock() + seconds
        self._wake.set()

    def pause(self) -> None:
        """Hold queued audio where it is (the caller may be barging in); keepalive silence
        goes on. `resume()` plays on from the same sample, `clear()` drops it."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()
        if self._playout_clock is not None:
            self._playout_clock.kick(self)

    # -- feeding -----------------------------------------------------------------------

    def write(self, item_id: str, pcm: bytes) -> None:
        """Queue audio for `item_id` (whole 16-bit samples at `rate`)."""
        if len(pcm) % 2:
            raise ValueError(f"pcm must be whole 16-bit samples, got {len(pcm)} bytes")
        item = self._item(item_id)
        if item.interrupted or self._stopped:
            return  # late audio of a reply the caller interrupted: never play it
        if item.finished:
            log(
                logger,
                logging.WARNING,
                "audio after item finished, dropped",
                item=item_id,
                bytes=len(pcm),
            )
            return
        if not pcm:
            return
        if not item.queued:
            if self._queue:
                self._queue[-1].finished = True  # frames never straddle two items
            item.queued = True
            self._queue.append(item)
        item.buf += pcm
        item.received += len(pcm)
        self._wake.set()
        if self._playout_clock is not None:
            self._playout_clock.kick(self)  # a writer idle until now starts at once

    def finish(self, item_id: str) -> None:
        """No more audio for `item_id`: its last partial frame is padded with silence."""
        item = self._item(item_id)
        item.finished = True
        if not item.queued and not item.done.is_set():
            self._complete(item)
        self._wake.set()

    def clear(self) -> Playout | None:
        """Barge-in: drop everything queued now. Returns the item cut short, if any.

        Its `played_ms` counts what was sent (frames already handed to Asterisk will
        still play), never more than was received.
        """
        self._paused = False
        if not self._queue:
            return None
        head = self._queue[0]
        for item in self._queue:
            item.interrupted = True
            item.buf.clear()
            self._complete(item)
        self._queue.clear()
        result = Playout(head.id, self._ms(head.sent), True)
        log(
            logger,
            logging.INFO,
            "playout cleared",
            item=head.id,
            played_ms=result.played_ms,
            received_ms=self._ms(head.received),
        )
        return result

    # -- queries -----------------------------------------------------------------------

    def played_ms(self, item_id: str) -> int:
        """Milliseconds of `item_id`'s audio sent so far (0 if unknown)."""
        item = self._items.get(item_id)
        return self._ms(item.sent) if item else 0

    def received_ms(self, item_id: str) -> int:
        item = self._items.get(item_id)
        return self._ms(item.received) if item else 0

    def first_frame_at(self, item_id: str) -> float | None:
        """Clock time the item's first frame was sent, or None."""
        item = self._items.get(item_id)
        return item.first_frame_at if item else None

    @property
    def current_item(self) -> str | None:
        """The item playing (or about to), or None when idle."""
        return self._queue[0].id if self._queue else None

    async def wait_done(self, item_id: str, *, until_played: bool = True) -> Playout:
        """Wait until `item_id` is finished and all its audio sent (or it was cleared).

        With `until_played`, also wait out the send-ahead, i.e. until Asterisk has played
        the last frame (what end_call needs before hanging up). An id not written yet is
        waited for.
        """
        item = self._item(item_id)
        if self._stopped and not item.done.is_set():
            self._complete(item)
        await item.done.wait()
        if until_played and not item.interrupted and item.end_at is not None:
            remaining = item.end_at - self._clock()
            if remaining > 0:
                await self._sleep(remaining)
        return Playout(item.id, self._ms(item.sent), item.interrupted)

    # -- the send loop -----------------------------------------------------------------

    async def run(self) -> None:
        """Send frames until cancelled (or until `send` raises, which propagates): on the
        shared PlayoutClock if one was given, else on this writer's own timer."""
        try:
            if self._playout_clock is not None:
                await self._playout_clock.drive(self)
            while True:
                next_at = self.pump(self._clock())
                if next_at is None:
                    self._wake.clear()
                    await self._wake.wait()
                else:
                    await self._sleep(next_at - self._clock())
        finally:
            # Nothing will be sent any more: release every waiter, refuse later audio.
            self._stopped = True
            for item in self._items.values():
                if not item.done.is_set():
                    item.interrupted = item.interrupted or item.queued
                    self._complete(item)
            self._queue.clear()

    def pump(self, now: float, slack: float = 0.0) -> float | None:
        """Send every frame due to leave by `now` (+ `slack`: a shared clock's tick sends
        a frame due a moment after it, rather than a whole tick late). Returns when the
        next one is due, or None while there is nothing to send. Raises what `send` raises."""
        while (head := self._next_frame(now + slack)) is not None or (
            self.keepalive and not self._stopped
        ):
            if self._anchor is None or now > self._due() + self._frame_s:
                # Idle or stalled for over a frame: Asterisk's buffer has run dry, so
                # start a new timeline now rather than bursting to catch up.
                if self._anchor is not None:
                    self.reanchors += 1
                clock = self._playout_clock
                self._anchor = now if clock is None else clock.align(now)
                self._index = 0
            send_at = self._due() - self.send_ahead * self._frame_s
            if now + slack < send_at:
                return send_at
            if head is None:
                self._send_silence()
            else:
                self._send_frame(*head, now)
        if self._queue and now + slack < self._audio_from:
            return self._audio_from  # held audio (hold_audio), with no keepalive meanwhile
        return None

    def _send_silence(self) -> None:
        self._send(bytes(self.frame_bytes))
        self.silence_frames += 1
        self._index += 1

    def _send_frame(self, item: _Item, audio_len: int, now: float) -> None:
        frame = bytes(item.buf[:audio_len])
        if audio_len < self.frame_bytes:
            frame += bytes(self.frame_bytes - audio_len)  # pad the final partial frame
        del item.buf[:audio_len]
        first = item.first_frame_at is None
        if first:
            item.first_frame_at = now
        self._send(frame)
        # Once handed to send it is on its way to the caller: that is what clear() and
        # played_ms count.
        item.sent += audio_len
        self._index += 1
        if first and self.on_first_frame is not None:
            self.on_first_frame(item.id, now)
        if item.finished and not item.buf and self._queue and self._queue[0] is item:
            self._queue.popleft()
            self._complete(item)

    def _next_frame(self, now: float) -> tuple[_Item, int] | None:
        """The head item and how many of its bytes the next frame carries (none while
        audio is held at `now`)."""
        if now < self._audio_from or self._paused:
            return None
        while self._queue:
            item = self._queue[0]
            available = len(item.buf)
            if available >= self.frame_bytes:
                return item, self.frame_bytes
            if not item.finished:
                return None  # wait for more audio: a partial frame is sent only at the end
            if available:
                return item, available
            self._queue.popleft()
            self._complete(item)
        return None

    def _due(self) -> float:
        assert self._anchor is not None
        return self._anchor + self._index * self._frame_s

    def _complete(self, item: _Item) -> None:
        item.finished = True
        item.queued = False
        if item.end_at is None:
            item.end_at = self._due() if self._anchor is not None else self._clock()
        item.done.set()

    def _item(self, item_id: str) -> _Item:
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = _Item(item_id)
            self._prune()
        return item

    def _prune(self) -> None:
        excess = len(self._items) - ITEM_HISTORY
        if excess > 0:
            old = [i for i, item in self._items.items() if item.done.is_set()][:excess]
            for item_id in old:
                del self._items[item_id]

    def _ms(self, nbytes: int) -> int:
        return nbytes * 1000 // (self.rate * 2)
