"""ARI: a thin typed REST client and the events websocket."""

from receptionist.ari.client import AriClient, AriError
from receptionist.ari.models import (
    Bridge,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    Event,
    Recording,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    parse_event,
)

__all__ = [
    "AriClient",
    "AriError",
    "Bridge",
    "Channel",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "Event",
    "Recording",
    "RecordingFinished",
    "StasisEnd",
    "StasisStart",
    "parse_event",
]
