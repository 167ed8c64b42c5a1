"""G.711 mu-law and a minimal RTP peer: the media side of a SIP phone under test.

sipp does the phone's signalling; this socket is the address its SDP offers, so the
test hears what the caller hears (as PCM) and speaks as the caller.
"""

from __future__ import annotations

import asyncio
import struct

import numpy as np

FRAME = 160  # 20 ms of 8 kHz mu-law


def mulaw(pcm: bytes) -> bytes:
    """G.711 mu-law encode int16 PCM (what a PSTN trunk carries)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    sign = (x < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def unmulaw(data: bytes) -> bytes:
    """G.711 mu-law decode to int16 PCM."""
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return np.where(u & 0x80, 0x84 - magnitude, magnitude - 0x84).astype("<i2").tobytes()


class RtpPeer(asyncio.DatagramProtocol):
    """Receives PCMU (payload type 0) and, once the far end is known, can send it back."""

    def __init__(self) -> None:
        self.heard = bytearray()  # decoded 8 kHz PCM, in arrival order
        self.far_end: tuple[str, int] | None = None
        self.first_packet = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> RtpPeer:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[1] & 0x7F != 0:
            return  # not PCMU RTP (e.g. RTCP)
        header = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:  # header extension: its length is in 32-bit words
            header += 4 + 4 * struct.unpack("!H", data[header + 2 : header + 4])[0]
        self.heard += unmulaw(data[header:])
        self.far_end = addr  # symmetric RTP: answer where it comes from
        self.first_packet.set()

    async def speak(self, pcm8k: bytes) -> None:
        """Send 8 kHz PCM as 20 ms PCMU packets, paced against an absolute clock."""
        assert self.transport is not None and self.far_end is not None
        encoded = mulaw(pcm8k)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index in range(len(encoded) // FRAME):
            header = struct.pack("!BBHII", 0x80, 0, index & 0xFFFF, index * FRAME, 0x5EED)
            self.transport.sendto(header + encoded[index * FRAME : (index + 1) * FRAME],
                                  self.far_end)  # fmt: skip
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))
