"""Caller audio to the model: each frame as the leg reads it, with gaps filled.

In a two-party bridge Asterisk sends nothing while the caller's phone sends nothing
(silence suppression on a trunk), and the model's turn detection would wait forever for
the end of speech: such gaps are filled with silence, so the model's audio clock keeps
running. Frames are handled as the leg reads them, in the loop's read callback (no
queue, no task hop per frame), which at a hundred calls is a good part of the event
loop's work. Gaps are found by a plain timer that looks every 100 ms (a timeout around
a read that a live line never finishes would end in a cancellation each time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from receptionist.audio.resample import StreamResampler, caller_to_model
from receptionist.audio.vad import SpeechDetector
from receptionist.audiosocket.connection import AudioSocketConnection
from receptionist.audiosocket.protocol import AudioFrame, DtmfFrame
from receptionist.call.ports import CallerAudioSink

GAP_FILL_MS = 100  # no caller frame for this long: feed the model this much silence
# Caller audio per append to the model. While the caller speaks, and for a while after,
# each frame at once: the model times the end of a turn on that audio, and a longer
# append would delay it by up to its length (measured in docs/performance.md). A quiet
# line, long after any speech (e.g. while the caller listens), goes in longer appends:
# a fifth of the websocket messages, and nothing is timed on it. A voiced frame
# (webrtcvad's own call, before any smoothing) ends the wait at once, so a barge-in is
# not held back.
APPEND_MS = 20
QUIET_APPEND_MS = 100
QUIET_AFTER_MS = 3500  # the longest turn-end silence a business can set (3 s), and a margin


class Timer(Protocol):
    def cancel(self) -> None: ...


def call_later(delay: float, callback: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay, callback)


async def pump_caller_audio(
    leg: AudioSocketConnection,
    model: CallerAudioSink,
    vad: SpeechDetector,
    rate: int,
    on_dtmf: Callable[[str], None],
    *,
    on_voice: Callable[[bool], None] = lambda speaking: None,
    after_frame: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.monotonic,
    timer: Callable[[float, Callable[[], None]], Timer] = call_later,  # with clock, for tests
    append_ms: int = APPEND_MS,
    quiet_append_ms: int = QUIET_APPEND_MS,
) -> None:
    """Send the caller's audio to `model` (and through `vad`) until the leg ends, in
    appends of `append_ms` (whole frames as they come when shorter), `quiet_append_ms` on
    a quiet line; `on_voice(speaking)` whenever the detector says the caller started or
    stopped; `after_frame()` after each frame (the playout clock catches up there)."""
    upsample = caller_to_model(rate)
    gap = bytes(rate * 2 * GAP_FILL_MS // 1000)
    append_bytes = rate * 2 * append_ms // 1000
    quiet_bytes = rate * 2 * quiet_append_ms // 1000
    pending = bytearray()  # caller audio waiting to fill an append
    last = clock()
    # Asterisk sends each frame at the rate the bridge gave it, which need not be the
    # leg's (8 kHz frames were seen on a 16 kHz leg): the kind byte says which.
    to_leg: dict[int, StreamResampler] = {}

    def at_leg_rate(frame: AudioFrame) -> bytes:
        if frame.rate == rate:
            return frame.pcm
        if frame.rate not in to_leg:
            to_leg[frame.rate] = StreamResampler(frame.rate, rate)
        return to_leg[frame.rate].process(frame.pcm)

    def detect(pcm: bytes) -> None:
        speaking = vad.speaking
        if vad.process(pcm) != speaking:
            on_voice(not speaking)

    def send(pcm: bytes) -> None:
        model.send_audio(pcm if upsample.passthrough else upsample.process(pcm))

    def flush() -> None:
        if pending:
            send(bytes(pending))
            pending.clear()

    def on_frame(frame: AudioFrame | DtmfFrame) -> None:
        nonlocal last
        if isinstance(frame, AudioFrame):
            last = clock()
            pcm = at_leg_rate(frame)
            detect(pcm)
            quiet = not vad.voiced_ms and vad.ms_since_speech >= QUIET_AFTER_MS
            size = quiet_bytes if quiet else append_bytes
            if not pending and len(pcm) >= size:
                send(pcm)  # a whole append in one frame, no copy
            else:
                pending.extend(pcm)
                if len(pending) >= size:
                    flush()
        else:
            on_dtmf(frame.digit)
        after_frame()

    pending_timer: Timer | None = None

    def look_for_gap() -> None:
        nonlocal last, pending_timer
        if clock() - last >= GAP_FILL_MS / 1000:
            last = clock()
            detect(gap)
            flush()
            send(gap)
        pending_timer = timer(max(0.0, last + GAP_FILL_MS / 1000 - clock()), look_for_gap)

    leg.consume(on_frame)
    pending_timer = timer(GAP_FILL_MS / 1000, look_for_gap)
    try:
        await leg.recv()  # only the end of the leg comes this way now
    finally:
        if pending_timer is not None:
            pending_timer.cancel()
