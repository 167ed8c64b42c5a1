"""PacedWriter: frames cut right, sent on an absolute clock, and played_ms exact on barge-in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from receptionist.audio.writer import PacedWriter, Playout

FRAME = 640  # 20 ms at 16 kHz
T0 = 1000.0


class FakeClock:
    """Virtual time: sleeping advances the clock instantly (and yields to the loop)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now = max(self.now, self.now + seconds)
        await asyncio.sleep(0)


class Sink:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.frames: list[tuple[float, bytes]] = []

    def send(self, frame: bytes) -> None:
        self.frames.append((self.clock.now, frame))

    @property
    def audio(self) -> bytes:
        return b"".join(f for _, f in self.frames)

    def times_ms(self) -> list[float]:
        return [round((t - T0) * 1000, 6) for t, _ in self.frames]


def pcm(ms: int, value: int = 1) -> bytes:
    """Recognisable audio: every sample is `value` (so padding zeros stand out)."""
    return np.full(ms * 16, value, dtype="<i2").tobytes()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sink(clock: FakeClock) -> Sink:
    return Sink(clock)


@pytest.fixture
async def writer(clock: FakeClock, sink: Sink) -> AsyncIterator[PacedWriter]:
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep)
    task = asyncio.create_task(w.run())
    yield w
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def until(condition: object, steps: int = 10_000) -> None:
    for _ in range(steps):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def test_frames_go_out_on_an_absolute_clock_with_two_frames_ahead(
    writer: PacedWriter, sink: Sink
) -> None:
    writer.write("a", pcm(1000))
    writer.finish("a")
    result = await writer.wait_done("a", until_played=False)
    assert result == Playout("a", 1000, False)
    assert len(sink.frames) == 50
    assert all(len(f) == FRAME for _, f in sink.frames)
    # Frames 0-2 at once (frame 0 plays now, 1 and 2 are the 40 ms send-ahead), then
    # frame k exactly when frame k-2 starts playing: t = (k - 2) * 20 ms.
    assert sink.times_ms() == [0, 0, 0] + [20.0 * (k - 2) for k in range(3, 50)]


async def test_any_chunk_sizes_become_whole_frames_and_the_tail_is_padded(
    writer: PacedWriter, sink: Sink
) -> None:
    sizes = [2, 100, 1000, 3334, 640, 62, 4800, 6]
    total = sum(sizes)
    audio = (np.arange(total // 2) % 1000 + 1).astype("<i2").tobytes()  # no zero samples
    pos = 0
    for n in sizes:
        writer.write("a", audio[pos : pos + n])
        pos += n
    writer.finish("a")
    await writer.wait_done("a")
    assert len(sink.frames) == -(-total // FRAME)
    assert all(len(f) == FRAME for _, f in sink.frames)  # never zero-length or short
    assert sink.audio[:total] == audio
    assert sink.audio[total:] == bytes(len(sink.audio) - total)  # silence padding
    assert writer.played_ms("a") == total * 1000 // 32000


async def test_clear_stops_at_once_and_played_ms_is_what_was_sent(
    writer: PacedWriter, sink: Sink, clock: FakeClock
) -> None:
    writer.write("reply", pcm(3000))
    await until(lambda: len(sink.frames) == 10)
    cut = writer.clear()
    assert cut == Playout("reply", 200, True)
    writer.write("reply", pcm(500))  # late deltas of the interrupted reply: never played
    await clock.sleep(1.0)
    await asyncio.sleep(0)
    assert len(sink.frames) == 10
    assert writer.played_ms("reply") == 200
    assert writer.received_ms("reply") == 3000
    assert await writer.wait_done("reply") == Playout("reply", 200, True)
    assert writer.current_item is None
    assert writer.clear() is None  # nothing left to interrupt


async def test_played_ms_never_exceeds_received(writer: PacedWriter, sink: Sink) -> None:
    writer.write("a", pcm(30))
    await until(lambda: len(sink.frames) == 1)
    await asyncio.sleep(0)
    assert len(sink.frames) == 1  # the 10 ms remainder waits for more audio or finish
    assert writer.clear() == Playout("a", 20, True)

    writer.write("b", pcm(30))
    writer.finish("b")
    assert await writer.wait_done("b") == Playout("b", 30, False)  # not 40: padding
    assert len(sink.frames) == 3


async def test_a_new_item_finishes_the_previous_one_and_frames_never_mix(
    writer: PacedWriter, sink: Sink
) -> None:
    writer.write("a", pcm(30, value=1))
    writer.write("b", pcm(40, value=2))
    writer.finish("b")
    await writer.wait_done("b")
    frames = [np.frombuffer(f, dtype="<i2") for _, f in sink.frames]
    assert [set(f.tolist()) for f in frames] == [{1}, {0, 1}, {2}, {2}]
    assert (writer.played_ms("a"), writer.played_ms("b")) == (30, 40)
    assert (await writer.wait_done("a")).interrupted is False


async def test_wait_done_waits_until_the_last_frame_has_played(
    writer: PacedWriter, clock: FakeClock
) -> None:
    writer.write("bye", pcm(200))
    writer.finish("bye")
    await writer.wait_done("bye")
    assert clock.now - T0 == pytest.approx(0.200)  # 10 frames from T0: played out at +200 ms


async def test_wait_done_before_any_audio_and_items_without_audio(
    writer: PacedWriter, sink: Sink
) -> None:
    waiter = asyncio.create_task(writer.wait_done("later", until_played=False))
    await asyncio.sleep(0)
    assert not waiter.done()
    writer.write("later", pcm(40))
    writer.finish("later")
    assert await waiter == Playout("later", 40, False)

    writer.finish("silent")  # a response with no audio
    assert await writer.wait_done("silent") == Playout("silent", 0, False)
    assert writer.played_ms("unknown") == 0


async def test_idle_sends_nothing_and_a_new_item_restarts_the_clock(
    writer: PacedWriter, sink: Sink, clock: FakeClock
) -> None:
    writer.write("a", pcm(100))
    writer.finish("a")
    await writer.wait_done("a")
    n = len(sink.frames)
    await clock.sleep(5.0)
    await asyncio.sleep(0)
    assert len(sink.frames) == n
    start = clock.now
    writer.write("b", pcm(100))
    writer.finish("b")
    await writer.wait_done("b", until_played=False)
    times = [round((t - start) * 1000, 6) for t, _ in sink.frames[n:]]
    assert times == [0, 0, 0, 20, 40]  # no burst to "catch up" on the idle time
    assert writer.reanchors == 1


async def test_underrun_mid_item_restarts_the_clock_without_bursting(
    writer: PacedWriter, sink: Sink, clock: FakeClock
) -> None:
    writer.write("a", pcm(100))  # the model is slower than real time here
    await until(lambda: len(sink.frames) == 5)
    await clock.sleep(0.5)
    resume = clock.now
    writer.write("a", pcm(100))
    writer.finish("a")
    await writer.wait_done("a", until_played=False)
    times = [round((t - resume) * 1000, 6) for t, _ in sink.frames[5:]]
    assert times == [0, 0, 0, 20, 40]
    assert writer.played_ms("a") == 200


async def test_small_gap_keeps_the_timeline(
    writer: PacedWriter, sink: Sink, clock: FakeClock
) -> None:
    writer.write("a", pcm(100))
    await until(lambda: len(sink.frames) == 5)  # sent up to t=+40 ms; frame 4 due at +80
    writer.write("a", pcm(40))
    writer.finish("a")
    await writer.wait_done("a", until_played=False)
    assert sink.times_ms() == [0, 0, 0, 20, 40, 60, 80]
    assert writer.reanchors == 0


async def test_first_frame_hook_and_timestamp(clock: FakeClock, sink: Sink) -> None:
    seen: list[tuple[str, float]] = []
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep,
                    on_first_frame=lambda item, t: seen.append((item, t)))  # fmt: skip
    task = asyncio.create_task(w.run())
    await clock.sleep(0.25)
    w.write("greeting", pcm(60))
    w.finish("greeting")
    await w.wait_done("greeting")
    task.cancel()
    assert seen == [("greeting", T0 + 0.25)]
    assert w.first_frame_at("greeting") == T0 + 0.25


async def test_no_send_ahead_paces_every_frame(clock: FakeClock, sink: Sink) -> None:
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep, send_ahead=0, rate=8000)
    task = asyncio.create_task(w.run())
    w.write("a", bytes(320 * 4))
    w.finish("a")
    await w.wait_done("a")
    task.cancel()
    assert sink.times_ms() == [0, 20, 40, 60]
    assert all(len(f) == 320 for _, f in sink.frames)


async def test_send_failure_ends_run_and_releases_waiters(clock: FakeClock) -> None:
    def broken(frame: bytes) -> None:
        raise ConnectionResetError("gone")

    w = PacedWriter(broken, clock=clock, sleep=clock.sleep)
    w.write("a", pcm(100))
    with pytest.raises(ConnectionResetError):
        await w.run()
    assert (await w.wait_done("a")).interrupted
    assert await w.wait_done("never-written") == Playout("never-written", 0, False)
    w.write("b", pcm(20))  # after the end nothing is queued
    assert w.current_item is None


async def test_rejects_partial_samples(writer: PacedWriter) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        writer.write("a", b"\x00")


async def test_real_clock_never_runs_ahead_of_its_deadlines() -> None:
    sent: list[float] = []

    def send(frame: bytes) -> None:
        sent.append(time.monotonic())

    w = PacedWriter(send)
    task = asyncio.create_task(w.run())
    start = time.monotonic()
    w.write("a", pcm(200))
    w.finish("a")
    await w.wait_done("a", until_played=False)
    task.cancel()
    assert len(sent) == 10
    # Frame k may leave no earlier than (k - 2) * 20 ms: a bound, not a timing assertion.
    for k, t in enumerate(sent):
        assert t - start >= max(0, k - 2) * 0.020 - 0.001


async def test_keepalive_fills_every_20_ms_with_silence_around_the_audio(
    clock: FakeClock, sink: Sink
) -> None:
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep, keepalive=True)
    task = asyncio.create_task(w.run())
    await until(lambda: len(sink.frames) >= 10)  # nothing queued: silence, on time
    assert all(f == bytes(FRAME) for _, f in sink.frames)
    w.write("a", pcm(100, 7))
    w.finish("a")
    await w.wait_done("a", until_played=False)  # (waiting longer would move the fake clock)
    await until(lambda: w.silence_frames >= 20)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    gaps = np.diff(sink.times_ms())
    # Two frames are sent ahead, then one every 20 ms, audio or silence.
    assert gaps[2:].max() <= 20 + 1e-6
    voiced = [f for _, f in sink.frames if f != bytes(FRAME)]
    assert voiced == [pcm(20, 7)] * 5  # the item whole, in one run, frames unmixed
    assert w.silence_frames == len(sink.frames) - 5
    assert w.played_ms("a") == 100


async def test_held_audio_waits_while_keepalive_silence_goes_on(
    clock: FakeClock, sink: Sink
) -> None:
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep, keepalive=True)
    task = asyncio.create_task(w.run())
    await until(lambda: len(sink.frames) >= 3)
    w.hold_audio(0.2)
    held_from = clock.now
    w.write("a", pcm(40, 5))
    w.finish("a")
    await until(lambda: any(f != bytes(FRAME) for _, f in sink.frames))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    first_voiced = next(t for t, f in sink.frames if f != bytes(FRAME))
    # Frames leave up to two ahead of their due time: none of the item before the hold ends.
    assert first_voiced >= held_from + 0.2 - 2 * 0.020 - 1e-9
    gaps = np.diff(sink.times_ms())
    assert gaps[2:].max() <= 20 + 1e-6  # silence meanwhile, never a gap


async def test_held_audio_without_keepalive_is_sent_when_the_hold_ends(
    clock: FakeClock, sink: Sink
) -> None:
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep)
    task = asyncio.create_task(w.run())
    w.hold_audio(0.1)
    w.write("a", pcm(40, 5))
    w.finish("a")
    await until(lambda: len(sink.frames) == 2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert sink.frames[0][0] >= T0 + 0.1 - 1e-9
    assert [f for _, f in sink.frames] == [pcm(20, 5)] * 2


async def test_pause_holds_the_item_and_resume_plays_on_from_the_same_sample(
    clock: FakeClock, sink: Sink
) -> None:
    """A tentative barge-in: playback holds (keepalive silence meanwhile) and, if the
    caller was not starting a turn after all, goes on with nothing lost or repeated."""
    w = PacedWriter(sink.send, clock=clock, sleep=clock.sleep, keepalive=True)
    task = asyncio.create_task(w.run())
    audio = (np.arange(16 * 400) % 997 + 1).astype("<i2").tobytes()  # 400 ms, no zero sample
    w.write("a", audio)
    w.finish("a")
    await until(lambda: len(sink.frames) >= 8)
    w.pause()
    sent_before = len([f for _, f in sink.frames if f != bytes(FRAME)])
    await until(lambda: w.silence_frames >= 10)  # held: only silence goes out
    assert len([f for _, f in sink.frames if f != bytes(FRAME)]) == sent_before
    assert w.played_ms("a") == sent_before * 20
    w.resume()
    result = await w.wait_done("a", until_played=False)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert result == Playout("a", 400, False)
    assert b"".join(f for _, f in sink.frames if f != bytes(FRAME)) == audio


async def test_clear_after_pause_reports_what_was_sent_before_it(
    writer: PacedWriter, sink: Sink
) -> None:
    writer.write("a", pcm(400, 3))
    await until(lambda: len(sink.frames) >= 5)
    writer.pause()
    heard = writer.played_ms("a")
    for _ in range(100):
        await asyncio.sleep(0)
    assert writer.clear() == Playout("a", heard, True)
    writer.write("b", pcm(40, 4))  # the next reply plays: a clear ends the pause
    writer.finish("b")
    assert await writer.wait_done("b", until_played=False) == Playout("b", 40, False)
