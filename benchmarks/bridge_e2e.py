"""The audio bridge end to end, with real sockets: this process's CPU per call.

N legs on an AudioSocketServer, fed 20 ms frames in real time by simulated Asterisk
channels in a second process (this module, run with --asterisk), each with its own model
session to the fake model (benchmarks.model) in a third, which speaks all the time; the
call's real audio tasks (caller audio, conversation, paced writer on one playout clock)
run here. Used by benchmarks.bridge_path.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import resource
import sys
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

from benchmarks.quiet_call import audio_only_conversation
from receptionist.audio.clock import PlayoutClock
from receptionist.audio.tones import silence
from receptionist.audio.vad import SpeechDetector
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.connection import AudioSocketConnection
from receptionist.audiosocket.protocol import encode_audio, encode_uuid
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.call.caller_audio import pump_caller_audio
from receptionist.realtime import RealtimeSession, SessionConfig

RATE = 24000  # slin24 legs, the default where Asterisk has them
ProfileHook = Callable[[FrameType, str, Any], object]


def no_dtmf(digit: str) -> None:
    return None


async def _asterisk(port: int, legs: list[str], seconds: float) -> None:
    """The simulated Asterisk side (its own process): each leg sends 20 ms of a quiet line
    on an absolute clock and reads what comes back."""
    loop = asyncio.get_running_loop()
    frame = encode_audio(silence(20, RATE), RATE)

    async def leg(leg_uuid: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode_uuid(uuid.UUID(leg_uuid)))
        drain = asyncio.create_task(reader.read(1 << 30))
        start = loop.time()
        for k in range(int(seconds * 50)):
            writer.write(frame)
            await asyncio.sleep(max(0.0, start + (k + 1) * 0.02 - loop.time()))
        writer.close()
        drain.cancel()

    await asyncio.gather(*(leg(u) for u in legs))


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
    )


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def end_to_end_us(
    calls: int, seconds: float, profile: ProfileHook | None = None
) -> tuple[float, float]:
    """This process's CPU per call per 20 ms, with `calls` legs and model sessions busy:
    (all of it, the part spent in the kernel). `profile` is set as sys.setprofile's
    hook for the measured window (benchmarks.call_count counts calls with it)."""
    model = await _spawn("-m", "benchmarks.model", "--think-ms", "0", "--greeting-s", "600",
                         "--realtime-factor", "1.0")  # fmt: skip
    assert model.stdout is not None
    url = f"ws://127.0.0.1:{(await model.stdout.readline()).split()[1].decode()}/v1"
    tasks: list[asyncio.Task[None]] = []
    sessions: list[RealtimeSession] = []
    try:
        async with AudioSocketServer() as server:
            legs = {u: server.register(u) for u in (uuid.uuid4() for _ in range(calls))}
            for _ in range(calls):
                config = SessionConfig(instructions="Benchmark.", tools=(), voice="cedar")
                sessions.append(RealtimeSession(config, api_key="sk-bench", websocket_base_url=url))
            await asyncio.gather(*(s.connect() for s in sessions))
            run_s = seconds + 4.0
            args = ["-m", "benchmarks.bridge_e2e", "--asterisk", str(server.port), str(run_s)]
            asterisk = await _spawn(*args, *map(str, legs))
            playout = PlayoutClock()
            for session, connected in zip(sessions, legs.values(), strict=True):
                tasks += _bridge(await connected, session, playout)
                session.request_response()  # the model speaks for the whole run
            await asyncio.sleep(2.0)  # every call under way
            user, system = _cpu()
            sys.setprofile(profile)
            try:
                await asyncio.sleep(seconds)
            finally:
                sys.setprofile(None)
            user, system = (now - then for now, then in zip(_cpu(), (user, system), strict=True))
            await asyncio.wait_for(asterisk.wait(), run_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in sessions))
        model.terminate()
        await model.wait()
    frames = calls * seconds * 50
    return (user + system) / frames * 1e6, system / frames * 1e6


def _bridge(
    leg: AudioSocketConnection, session: RealtimeSession, playout: PlayoutClock
) -> list[asyncio.Task[None]]:
    """One call's audio tasks, as Call._converse starts them."""

    send = functools.partial(leg.send_audio, rate=RATE)  # as Call._open_leg
    writer = PacedWriter(send, rate=RATE, playout_clock=playout)
    conversation = audio_only_conversation(session, writer, RATE)
    vad = SpeechDetector(RATE)
    caller = pump_caller_audio(leg, session, vad, RATE, no_dtmf, after_frame=playout.catch_up)
    return [
        asyncio.create_task(writer.run()),
        asyncio.create_task(caller),
        asyncio.create_task(conversation.run()),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asterisk", nargs="+", required=True, help="port seconds uuid...")
    port, seconds, *legs = parser.parse_args().asterisk
    asyncio.run(_asterisk(int(port), legs, float(seconds)))
