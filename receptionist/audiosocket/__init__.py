"""AudioSocket: the pure wire codec (protocol), the asyncio TCP server and its legs."""

from receptionist.audiosocket.connection import AudioSocketClosed, AudioSocketConnection
from receptionist.audiosocket.protocol import (
    AudioFrame,
    Decoder,
    DtmfFrame,
    ErrorFrame,
    Frame,
    HangupFrame,
    Kind,
    ProtocolError,
    UuidFrame,
    encode_audio,
    encode_hangup,
    kind_for_rate,
    rate_for_kind,
)
from receptionist.audiosocket.server import AudioSocketServer

__all__ = [
    "AudioFrame",
    "AudioSocketClosed",
    "AudioSocketConnection",
    "AudioSocketServer",
    "Decoder",
    "DtmfFrame",
    "ErrorFrame",
    "Frame",
    "HangupFrame",
    "Kind",
    "ProtocolError",
    "UuidFrame",
    "encode_audio",
    "encode_hangup",
    "kind_for_rate",
    "rate_for_kind",
]
