"""Streaming resamplers: one stateful soxr stream per direction, int16 PCM bytes in and out.

State is kept across chunks so joins don't click (resampling each 20 ms chunk on its own
restarts the filter every frame). Quality "MQ" by default; `python -m benchmarks.fidelity`
measures it: a 16k -> 24k -> 16k round trip keeps 79-82 dB SNR (the int16 rounding and
soxr's dither set that floor, not the filter: 99.7 dB in float), the passband is flat
(-0.1 dB) to 7.4 kHz, aliases of content above 8 kHz sit 108 dB or more down, and each
direction holds back 21 ms on average (38 ms at most) on 16 kHz legs, about twice that
on 8 kHz legs. HQ measures the same in int16 and holds back as much; VHQ twice as much.
"""

from __future__ import annotations

import sys

import numpy as np
import numpy.typing as npt
import soxr

DEFAULT_QUALITY = "MQ"
_LITTLE_ENDIAN = sys.byteorder == "little"  # soxr's int16 is native; the wire's is little


class StreamResampler:
    """Resample a continuous int16 mono stream from `in_rate` to `out_rate`.

    `process` may return fewer (or zero) bytes than the ratio suggests: the filter holds
    a little audio back. `flush` returns that tail at the end of a stream; `reset` drops
    it (barge-in: the rest of the interrupted audio must not leak into the next reply).
    """

    def __init__(self, in_rate: int, out_rate: int, *, quality: str = DEFAULT_QUALITY) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.quality = quality
        self.passthrough = in_rate == out_rate  # a slin24 leg: the model's own rate
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=quality)

    def process(self, pcm: bytes) -> bytes:
        """Resample one chunk of any (whole-sample) length; returns what is ready."""
        if len(pcm) % 2:
            raise ValueError(f"pcm must be whole 16-bit samples, got {len(pcm)} bytes")
        if self.passthrough or not pcm:
            return pcm if type(pcm) is bytes else bytes(pcm)  # a slin24 leg: no copy
        # One column (2-D): soxr then returns its output as is, without a squeeze.
        samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, 1)
        out: npt.NDArray[np.int16] = self._stream.resample_chunk(samples)
        return out.tobytes() if _LITTLE_ENDIAN else out.astype("<i2").tobytes()

    def flush(self) -> bytes:
        """End of stream: return the held-back tail, and get ready for a new stream."""
        if self.passthrough:
            return b""
        tail: npt.NDArray[np.int16] = self._stream.resample_chunk(
            np.zeros(0, dtype=np.int16), last=True
        )
        self._stream.clear()
        return tail.astype("<i2", copy=False).tobytes()

    def reset(self) -> None:
        """Drop any held-back audio and filter state (e.g. on barge-in)."""
        if not self.passthrough:
            self._stream.clear()

    @property
    def delay_samples(self) -> float:
        """Output samples currently held back inside the filter."""
        return 0.0 if self.passthrough else float(self._stream.delay())


def caller_to_model(leg_rate: int, model_rate: int = 24000) -> StreamResampler:
    """Caller audio (8 or 16 kHz slin from Asterisk) to the model's input rate."""
    return StreamResampler(leg_rate, model_rate)


def model_to_caller(leg_rate: int, model_rate: int = 24000) -> StreamResampler:
    """Model audio (24 kHz pcm) to the Asterisk leg's rate."""
    return StreamResampler(model_rate, leg_rate)
