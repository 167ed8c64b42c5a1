"""Caller audio to the model: each frame as the leg reads it, with gaps filled.

In a two-party bridge Asterisk sends nothing while the caller's phone sends nothing
(silence suppression on a trunk), and the model's turn detection would wait forever for
the end of speech: such gaps are filled with silence, so the model's audio clock keeps
running. Frames are handled in the leg's own read task (no queue, no task hop per
frame), which at a hundred calls is a good part of the event loop's work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from receptionist.audio.resample import StreamResampler, caller_to_model
from receptionist.audio.vad import SpeechDetector
from receptionist.audiosocket.connection import AudioSocketConnection
from receptionist.audiosocket.protocol import AudioFrame, DtmfFrame
from receptionist.call.ports import CallerAudioSink

GAP_FILL_MS = 100  # no caller frame for this long: feed the model this much silence


async def pump_caller_audio(
    leg: AudioSocketConnection,
    model: CallerAudioSink,
    vad: SpeechDetector,
    rate: int,
    on_dtmf: Callable[[str], None],
    *,
    on_voice: Callable[[bool], None] = lambda speaking: None,
    clock: Callable[[], float] = time.monotonic,
    timeout: Callable[[float], asyncio.Timeout] = asyncio.timeout,  # with clock, for tests
) -> None:
    """Send the caller's audio to `model` (and through `vad`) until the leg ends;
    `on_voice(speaking)` whenever the detector says the caller started or stopped."""
    upsample = caller_to_model(rate)
    gap = bytes(rate * 2 * GAP_FILL_MS // 1000)
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

    def on_frame(frame: AudioFrame | DtmfFrame) -> None:
        nonlocal last
        if isinstance(frame, AudioFrame):
            last = clock()
            pcm = at_leg_rate(frame)
            detect(pcm)
            model.send_audio(upsample.process(pcm))
        else:
            on_dtmf(frame.digit)

    leg.consume(on_frame)
    while True:
        wait = max(0.0, last + GAP_FILL_MS / 1000 - clock())
        try:
            async with timeout(wait):
                await leg.recv()  # only the end of the leg comes this way now
            return
        except TimeoutError:
            if clock() - last >= GAP_FILL_MS / 1000:
                last = clock()
                detect(gap)
                model.send_audio(upsample.process(gap))
