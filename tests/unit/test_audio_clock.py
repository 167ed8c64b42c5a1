"""PlayoutClock: one timer pumps many writers, each on its own timeline, failures apart."""

from __future__ import annotations

import asyncio

import pytest

from receptionist.audio.clock import PlayoutClock
from receptionist.audio.writer import PacedWriter
from tests.unit.test_audio_writer import FakeClock, Sink, pcm, until


def on_clock(playout: PlayoutClock, clock: FakeClock, send: object) -> PacedWriter:
    return PacedWriter(send, clock=clock, sleep=clock.sleep, playout_clock=playout)  # type: ignore[arg-type]


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def no_ticks(seconds: float) -> None:
    """The clock's own timer never fires: only kicks (and catch-ups) pump."""
    await asyncio.Event().wait()


def keepalive_without_ticks(clock: FakeClock) -> tuple[PlayoutClock, Sink, PacedWriter]:
    playout = PlayoutClock(clock=clock, sleep=no_ticks)
    sink = Sink(clock)
    writer = PacedWriter(sink.send, clock=clock, sleep=clock.sleep, playout_clock=playout,
                         keepalive=True)  # type: ignore[arg-type]  # fmt: skip
    return playout, sink, writer


def relative_ms(sink: Sink) -> list[float]:
    start = sink.frames[0][0]
    return [round((t - start) * 1000, 6) for t, _ in sink.frames]


async def test_one_clock_paces_every_writer_with_the_first_frames_at_once() -> None:
    clock = FakeClock()
    playout = PlayoutClock(clock=clock, sleep=clock.sleep)
    sinks = [Sink(clock) for _ in range(3)]
    writers = [on_clock(playout, clock, s.send) for s in sinks]
    tasks = [asyncio.create_task(w.run()) for w in writers]
    await until(lambda: playout.writers == 3)
    for w in writers:
        w.write("a", pcm(100))
        w.finish("a")
    for w in writers:
        await w.wait_done("a", until_played=False)
    for s in sinks:
        # Three frames at once (one playing, two ahead), then one per tick.
        assert relative_ms(s) == [0, 0, 0, 20, 40]
        assert s.audio == pcm(100)
    assert len({s.frames[0][0] for s in sinks}) == 1
    await stop(*tasks)


async def test_audio_for_an_idle_writer_goes_out_without_waiting_for_a_tick() -> None:
    clock = FakeClock()
    playout = PlayoutClock(clock=clock, sleep=no_ticks)
    sink = Sink(clock)
    writer = on_clock(playout, clock, sink.send)
    task = asyncio.create_task(writer.run())
    await until(lambda: playout.writers == 1)
    writer.write("reply", pcm(100))
    await until(lambda: len(sink.frames) == 3)
    assert sink.times_ms() == [0, 0, 0]  # the first frames, sent by the kick alone
    assert playout.ticks == 0
    await stop(task)


async def test_audio_for_a_writer_with_a_frame_due_waits_for_its_tick_without_a_kick() -> None:
    """A keepalive writer always has a frame due: audio written to it goes out on that
    frame's tick, on the same timeline, and costs no extra pump per write."""
    clock = FakeClock()
    _, sink, writer = keepalive_without_ticks(clock)
    pumps = 0
    pump = writer.pump

    def counted(now: float, slack: float = 0.0) -> float | None:
        nonlocal pumps
        pumps += 1
        return pump(now, slack)

    writer.pump = counted  # type: ignore[method-assign]
    task = asyncio.create_task(writer.run())
    await until(lambda: len(sink.frames) == 3)  # silence: one playing, two ahead
    assert pumps == 1
    for _ in range(5):
        writer.write("reply", pcm(40))
    await asyncio.sleep(0)
    assert pumps == 1 and len(sink.frames) == 3  # no kick: the next tick sends it
    await stop(task)


async def test_a_failing_leg_ends_its_own_writer_only() -> None:
    clock = FakeClock()
    playout = PlayoutClock(clock=clock, sleep=clock.sleep)
    good = Sink(clock)
    sent_by_bad: list[bytes] = []

    def bad(frame: bytes) -> None:
        if len(sent_by_bad) == 3:
            raise ConnectionResetError("gone")
        sent_by_bad.append(frame)

    healthy, broken = on_clock(playout, clock, good.send), on_clock(playout, clock, bad)
    healthy_task = asyncio.create_task(healthy.run())
    broken_task = asyncio.create_task(broken.run())
    await until(lambda: playout.writers == 2)
    for w in (healthy, broken):
        w.write("a", pcm(200))
        w.finish("a")
    with pytest.raises(ConnectionResetError):
        await broken_task
    assert (await broken.wait_done("a")).interrupted
    assert (await healthy.wait_done("a")).played_ms == 200
    assert len(good.frames) == 10
    await stop(healthy_task)


async def test_audio_written_before_the_writer_runs_is_played() -> None:
    clock = FakeClock()
    playout = PlayoutClock(clock=clock, sleep=clock.sleep)
    sink = Sink(clock)
    writer = on_clock(playout, clock, sink.send)
    writer.write("early", pcm(60))  # no run() yet: nothing is driving this writer
    writer.finish("early")
    task = asyncio.create_task(writer.run())
    done = await asyncio.wait_for(writer.wait_done("early", until_played=False), 2)
    assert done.played_ms == 60
    assert sink.audio == pcm(60)
    await stop(task)


async def test_an_input_path_runs_an_overdue_tick_at_once_and_the_timer_then_skips_it() -> None:
    """A burst of input keeps the loop from its timers: `catch_up` from the input path
    sends the frames due instead of leaving them until the burst is over."""
    clock = FakeClock()
    playout, sink, writer = keepalive_without_ticks(clock)
    task = asyncio.create_task(writer.run())
    await until(lambda: len(sink.frames) == 3)  # silence: one playing, two ahead
    playout.catch_up()
    assert playout.ticks == 0 and len(sink.frames) == 3  # the first tick is not due yet
    clock.now += 0.019  # the next frame is due at +20 ms, within half a tick of +20
    playout.catch_up()  # the tick due at +5 ms, run 14 ms late: sends what is due by +21.5
    assert playout.ticks == 1 and sink.times_ms() == [0, 0, 0, 19]
    playout.catch_up()
    assert playout.ticks == 1  # the next tick (+20 ms, on the same phase) is not due yet
    clock.now += 0.001
    playout.catch_up()
    assert playout.ticks == 2 and len(sink.frames) == 4
    await stop(task)
