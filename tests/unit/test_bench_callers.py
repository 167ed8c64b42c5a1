"""The simulated callers speak their channel's format: 20 ms AudioSocket frames at the
rate Asterisk was told (c(slin16) or c(slin)), a tone loud enough for the turn detector;
and, spread over phases, each sends on its own phase of the frame."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import uuid

import numpy as np
import pytest

from benchmarks.caller import AUDIBLE_PEAK, CALLER_RATES, Ear, Leg, quiet_frames, speech
from receptionist.audio.tones import dominant_frequency
from receptionist.audiosocket.protocol import AudioFrame, Decoder, encode_audio, encode_uuid
from tests.waiting import eventually


def decoded(frames: list[bytes]) -> list[AudioFrame]:
    out = Decoder().feed(b"".join(frames))
    assert all(isinstance(f, AudioFrame) for f in out)
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("caller_format", sorted(CALLER_RATES))
def test_callers_send_20ms_frames_at_their_channels_rate(caller_format: str) -> None:
    rate = CALLER_RATES[caller_format]
    spoken = decoded(speech(600, rate))
    assert len(spoken) == 30
    assert {(f.rate, len(f.pcm)) for f in spoken} == {(rate, rate // 50 * 2)}
    pcm = b"".join(f.pcm for f in spoken)
    assert abs(dominant_frequency(pcm, rate) - 440) < 5
    assert np.abs(np.frombuffer(pcm, dtype="<i2")).max() > AUDIBLE_PEAK
    quiet = decoded(quiet_frames(rate))
    assert len(quiet) == 50 and {f.rate for f in quiet} == {rate}
    assert np.abs(np.frombuffer(b"".join(f.pcm for f in quiet), dtype="<i2")).max() < AUDIBLE_PEAK


class Wire:
    """Stands in for a caller leg's transport."""

    def __init__(self) -> None:
        self.frames = 0

    def write(self, data: bytes) -> None:
        self.frames += 1

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def test_spread_callers_take_the_phases_in_turn_and_send_on_their_own() -> None:
    ticks: list[list[float]] = [[] for _ in range(6)]  # the ear clock's times each leg sent on
    async with Ear(phases=4) as ear:
        legs = []
        for i in range(6):
            leg = Leg(ear)
            leg.uuid = uuid.uuid4()
            leg.transport = wire = Wire()  # type: ignore[assignment]
            tick = leg.tick
            leg.tick = lambda now, tick=tick, sent=ticks[i]: (sent.append(now), tick(now))[1]  # type: ignore[method-assign]
            ear.arrived(leg)
            legs.append((leg, wire))
        await eventually(lambda: all(wire.frames >= 3 for _, wire in legs), 5)
    assert [leg.phase for leg, _ in legs] == [0, 1, 2, 3, 0, 1]
    sent = [set(times) for times in ticks]
    # Legs on one phase send on the same ticks; legs on different phases never do.
    assert sent[0] & sent[4] and sent[1] & sent[5]
    assert all(not sent[a] & sent[b] for a in range(4) for b in range(a + 1, 4))


def send_a_frame_while_the_driver_is_busy(
    port: int, key: uuid.UUID, frame: bytes
) -> tuple[socket.socket, float]:
    """As Asterisk: the leg's UUID and a first frame, then 30 ms in which the event loop
    reads nothing (it is blocked here)."""
    asterisk = socket.create_connection(("127.0.0.1", port))
    asterisk.sendall(encode_uuid(key) + frame)
    sent = time.monotonic()
    time.sleep(0.03)
    return asterisk, sent


async def test_the_ear_stamps_a_frame_when_it_reached_the_leg_not_when_it_was_read() -> None:
    """A busy driver reads a frame late; the kernel's stamp is when it arrived. The UUID
    came in the same segment, so the first read ends inside the frame and the next one
    completes it."""
    frame = encode_audio(bytes(640), 16000)
    async with Ear() as ear:
        key = uuid.uuid4()
        arrived = ear.expect(key)
        asterisk, sent = send_a_frame_while_the_driver_is_busy(ear.port, key, frame)
        with asterisk:
            leg = await asyncio.wait_for(arrived, 5)
            await eventually(lambda: len(leg.heard_at) == 1, 5)
            asterisk.sendall(frame)
            second = time.monotonic()
            await eventually(lambda: len(leg.heard_at) == 2, 5)
    assert leg.heard_at[0] >= sent + 0.03
    assert abs(leg.reached_at[0] - sent) < 0.005
    assert abs(leg.reached_at[1] - second) < 0.005


async def test_a_leg_asterisk_hung_up_is_closed_when_the_clock_writes_to_it() -> None:
    """The clock may write to a leg before the loop has read its hang-up: that write
    closes the leg, as a transport would, instead of raising into the clock."""
    async with Ear() as ear:
        key = uuid.uuid4()
        arrived = ear.expect(key)
        with socket.create_connection(("127.0.0.1", ear.port)) as asterisk:
            asterisk.sendall(encode_uuid(key))
            leg = await asyncio.wait_for(arrived, 5)
            # A reset (SO_LINGER 0): the leg's next send fails at once.
            asterisk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        leg.tick(time.monotonic())  # before the loop has read the reset
        assert leg.transport is not None and leg.transport.is_closing()
        assert leg not in ear.legs
