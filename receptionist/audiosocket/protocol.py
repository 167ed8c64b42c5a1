"""AudioSocket wire format: a pure codec (bytes in, frames out; frames in, bytes out), no I/O.

A message is 1 byte kind, 2 bytes big-endian payload length, then the payload. Audio is
signed 16-bit little-endian mono; the kind says the sample rate. Asterisk sends the UUID
first (16 raw bytes), then audio and DTMF; it never sends hangup or error, it just closes.
We may only send audio kinds or hangup: anything else, or zero-length audio, ends the leg.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import IntEnum

HEADER_SIZE = 3
# The length field allows 65535, but 20 ms at the highest rate (slin192) is 7680 bytes and
# Asterisk sends 20 ms frames. 16 KiB keeps headroom for long ptimes and still refuses garbage.
MAX_PAYLOAD = 16 * 1024
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    SLIN8 = 0x10
    SLIN12 = 0x11
    SLIN16 = 0x12
    SLIN24 = 0x13
    SLIN32 = 0x14
    SLIN44 = 0x15
    SLIN48 = 0x16
    SLIN96 = 0x17
    SLIN192 = 0x18
    ERROR = 0xFF


_RATE_BY_KIND: dict[Kind, int] = {
    Kind.SLIN8: 8000,
    Kind.SLIN12: 12000,
    Kind.SLIN16: 16000,
    Kind.SLIN24: 24000,
    Kind.SLIN32: 32000,
    Kind.SLIN44: 44100,
    Kind.SLIN48: 48000,
    Kind.SLIN96: 96000,
    Kind.SLIN192: 192000,
}
_KIND_BY_RATE: dict[int, Kind] = {rate: kind for kind, rate in _RATE_BY_KIND.items()}
_RATE_BY_CODE: dict[int, int] = {int(kind): rate for kind, rate in _RATE_BY_KIND.items()}
_KIND_BY_CODE: dict[int, Kind] = {int(kind): kind for kind in Kind}  # Kind(x) costs two calls
_KNOWN_KINDS = frozenset(int(k) for k in Kind)


class ProtocolError(ValueError):
    """The byte stream is not valid AudioSocket; the message says why.

    `frames` holds the valid frames that preceded the error in the same feed.
    """

    def __init__(self, message: str, frames: list[Frame] | None = None) -> None:
        super().__init__(message)
        self.frames: list[Frame] = frames or []


def rate_for_kind(kind: int) -> int:
    """Sample rate in Hz of an audio kind."""
    try:
        return _RATE_BY_KIND[Kind(kind)]
    except (ValueError, KeyError):
        raise ValueError(f"kind 0x{kind:02x} is not an audio kind") from None


def kind_for_rate(rate: int) -> Kind:
    """The audio kind that carries `rate` Hz."""
    try:
        return _KIND_BY_RATE[rate]
    except KeyError:
        raise ValueError(f"AudioSocket has no audio kind for {rate} Hz") from None


def frame_bytes(rate: int, ms: int = 20) -> int:
    """Bytes of slin audio in `ms` milliseconds at `rate` (20 ms at 16 kHz = 640)."""
    return rate * ms // 1000 * 2


@dataclass(frozen=True, slots=True)
class UuidFrame:
    uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class AudioFrame:
    kind: Kind
    rate: int
    pcm: bytes

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 * 1000 / self.rate


@dataclass(frozen=True, slots=True)
class DtmfFrame:
    digit: str


@dataclass(frozen=True, slots=True)
class HangupFrame:
    pass


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    # The payload's first byte if any (Asterisk's application error codes); None if empty.
    code: int | None


Frame = UuidFrame | AudioFrame | DtmfFrame | HangupFrame | ErrorFrame


class Decoder:
    """Incremental decoder: feed any slice of the stream, get the complete frames back.

    After a ProtocolError the decoder stays failed (every later feed raises again): the
    stream has lost framing and the connection must be dropped.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max_payload = max_payload
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a complete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        if self._error is not None:
            raise self._error
        if not self._buf and len(data) > HEADER_SIZE:
            frame = self._whole_audio_frame(data)
            if frame is not None:
                return [frame]
        self._buf += data
        frames: list[Frame] = []
        buf = self._buf
        pos = 0
        end = len(buf)
        try:
            while end - pos >= HEADER_SIZE:
                kind = buf[pos]
                length = (buf[pos + 1] << 8) | buf[pos + 2]
                self._check_header(kind, length)
                if end - pos - HEADER_SIZE < length:
                    break
                start = pos + HEADER_SIZE
                frames.append(_decode_payload(kind, bytes(buf[start : start + length])))
                pos = start + length
        except ProtocolError as exc:
            self._error = ProtocolError(str(exc))  # later feeds raise it without frames
            raise ProtocolError(str(exc), frames) from None
        finally:
            del buf[:pos]
        return frames

    def _whole_audio_frame(self, data: bytes) -> AudioFrame | None:
        """`data` decoded without buffering if it is exactly one valid audio frame (what
        a read returns while the loop keeps up: one 20 ms frame); None otherwise."""
        kind = data[0]
        length = (data[1] << 8) | data[2]
        rate = _RATE_BY_CODE.get(kind)
        if rate is None or length != len(data) - HEADER_SIZE or length > self._max_payload:
            return None
        if length % 2:  # odd: the general path reports it
            return None
        return AudioFrame(_KIND_BY_CODE[kind], rate, data[HEADER_SIZE:])

    def eof(self) -> None:
        """The peer closed the stream: raise if it stopped in the middle of a frame."""
        if self._error is None and self._buf:
            self._error = ProtocolError(f"stream ended inside a frame ({len(self._buf)} bytes)")
        if self._error is not None:
            raise self._error

    def _check_header(self, kind: int, length: int) -> None:
        # Checked on the header alone, so a bad frame is refused before its payload arrives.
        if kind not in _KNOWN_KINDS:
            raise ProtocolError(f"unknown kind 0x{kind:02x}")
        if length > self._max_payload:
            raise ProtocolError(
                f"payload of {length} bytes exceeds {self._max_payload} (kind 0x{kind:02x})"
            )
        if kind == Kind.UUID and length != 16:
            raise ProtocolError(f"uuid payload is {length} bytes, expected 16")
        if kind == Kind.DTMF and length != 1:
            raise ProtocolError(f"dtmf payload is {length} bytes, expected 1")
        if kind in _RATE_BY_KIND:
            if length == 0:
                raise ProtocolError(f"zero-length audio (kind 0x{kind:02x})")
            if length % 2:
                raise ProtocolError(f"odd-length audio: {length} bytes (kind 0x{kind:02x})")


def _decode_payload(kind: int, payload: bytes) -> Frame:
    if kind in _RATE_BY_KIND:
        k = Kind(kind)
        return AudioFrame(k, _RATE_BY_KIND[k], payload)
    if kind == Kind.UUID:
        return UuidFrame(uuid.UUID(bytes=payload))
    if kind == Kind.DTMF:
        digit = chr(payload[0]).upper()
        if digit not in DTMF_DIGITS:
            raise ProtocolError(f"invalid dtmf digit byte 0x{payload[0]:02x}")
        return DtmfFrame(digit)
    if kind == Kind.HANGUP:
        return HangupFrame()
    return ErrorFrame(payload[0] if payload else None)


_AUDIO_HEADERS: dict[tuple[int, int], bytes] = {}


def _header(kind: Kind, length: int) -> bytes:
    return bytes((kind, length >> 8, length & 0xFF))


def encode_audio(pcm: bytes, rate: int = 16000) -> bytes:
    """One audio message. Refuses what would end the call leg (empty) or break framing."""
    n = len(pcm)
    if n == 0:
        raise ValueError("refusing zero-length audio: Asterisk ends the call leg on it")
    if n % 2:
        raise ValueError(f"audio must be whole 16-bit samples, got {n} bytes")
    if n > MAX_PAYLOAD:
        raise ValueError(f"audio payload of {n} bytes exceeds {MAX_PAYLOAD}; send 20 ms frames")
    # Header and payload in one buffer: Asterisk reads the payload with only a 5 ms poll
    # after the header, so they must go out in a single write.
    header = _AUDIO_HEADERS.get((rate, n))
    if header is None:  # a call sends one size at one rate: built once, then looked up
        header = _AUDIO_HEADERS[rate, n] = _header(kind_for_rate(rate), n)
    return header + pcm


def encode_hangup() -> bytes:
    return _header(Kind.HANGUP, 0)


def encode_uuid(value: uuid.UUID) -> bytes:
    """What Asterisk sends first; we only need it to play Asterisk in tests and tools."""
    return _header(Kind.UUID, 16) + value.bytes


def encode_dtmf(digit: str) -> bytes:
    """What Asterisk sends on a digit; for test clients that play Asterisk."""
    if len(digit) != 1 or digit.upper() not in DTMF_DIGITS:
        raise ValueError(f"invalid dtmf digit {digit!r}")
    return _header(Kind.DTMF, 1) + digit.upper().encode("ascii")


def encode(frame: Frame) -> bytes:
    """Encode any frame (audio, hangup, and the Asterisk-side kinds for tests)."""
    match frame:
        case AudioFrame(rate=rate, pcm=pcm):
            return encode_audio(pcm, rate)
        case HangupFrame():
            return encode_hangup()
        case UuidFrame(uuid=value):
            return encode_uuid(value)
        case DtmfFrame(digit=digit):
            return encode_dtmf(digit)
        case ErrorFrame(code=code):
            return _header(Kind.ERROR, 0 if code is None else 1) + (
                b"" if code is None else bytes((code,))
            )
    raise TypeError(f"not a frame: {frame!r}")
