"""Typed ARI resources and events: frozen dataclasses built from ARI's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    state: str
    caller_number: str = ""
    caller_name: str = ""
    dialplan_context: str = ""
    dialplan_exten: str = ""
    language: str = ""  # CHANNEL(language): the sound folder Asterisk plays prompts from

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Channel:
        caller = data.get("caller") or {}
        dialplan = data.get("dialplan") or {}
        return cls(
            id=data["id"],
            name=data.get("name", ""),
            state=data.get("state", ""),
            caller_number=caller.get("number", ""),
            caller_name=caller.get("name", ""),
            dialplan_context=dialplan.get("context", ""),
            dialplan_exten=dialplan.get("exten", ""),
            language=data.get("language", ""),
        )


@dataclass(frozen=True)
class Bridge:
    id: str
    bridge_type: str
    channels: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bridge:
        return cls(
            id=data["id"],
            bridge_type=data.get("bridge_type", ""),
            channels=tuple(data.get("channels", [])),
        )


@dataclass(frozen=True)
class Recording:
    name: str
    state: str
    format: str
    duration: float | None = None
    cause: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recording:
        return cls(
            name=data["name"],
            state=data.get("state", ""),
            format=data.get("format", ""),
            duration=data.get("duration"),
            cause=data.get("cause", ""),
        )


@dataclass(frozen=True)
class Event:
    """Any ARI event; the subclasses below carry the fields we act on."""

    type: str
    application: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def channel_id(self) -> str | None:
        channel = self.raw.get("channel")
        return channel.get("id") if isinstance(channel, dict) else None


@dataclass(frozen=True)
class StasisStart(Event):
    channel: Channel
    args: tuple[str, ...]


@dataclass(frozen=True)
class StasisEnd(Event):
    channel: Channel


@dataclass(frozen=True)
class ChannelDestroyed(Event):
    channel: Channel
    cause: int
    cause_txt: str


@dataclass(frozen=True)
class ChannelHangupRequest(Event):
    channel: Channel


@dataclass(frozen=True)
class ChannelDtmfReceived(Event):
    channel: Channel
    digit: str


@dataclass(frozen=True)
class ChannelEnteredBridge(Event):
    channel: Channel
    bridge: Bridge


@dataclass(frozen=True)
class ChannelLeftBridge(Event):
    channel: Channel
    bridge: Bridge


@dataclass(frozen=True)
class ChannelStateChange(Event):
    channel: Channel


@dataclass(frozen=True)
class RecordingFinished(Event):
    recording: Recording


def parse_event(data: dict[str, Any]) -> Event:
    """Turn one decoded events-websocket message into a typed event."""
    kind = data.get("type", "")
    app = data.get("application", "")
    channel = Channel.from_json(data["channel"]) if isinstance(data.get("channel"), dict) else None
    if channel is not None:
        if kind == "StasisStart":
            return StasisStart(kind, app, data, channel, tuple(data.get("args", [])))
        if kind == "StasisEnd":
            return StasisEnd(kind, app, data, channel)
        if kind == "ChannelDestroyed":
            return ChannelDestroyed(
                kind, app, data, channel, int(data.get("cause", 0)), data.get("cause_txt", "")
            )
        if kind == "ChannelHangupRequest":
            return ChannelHangupRequest(kind, app, data, channel)
        if kind == "ChannelDtmfReceived":
            return ChannelDtmfReceived(kind, app, data, channel, str(data.get("digit", "")))
        if kind == "ChannelStateChange":
            return ChannelStateChange(kind, app, data, channel)
        if kind in ("ChannelEnteredBridge", "ChannelLeftBridge") and "bridge" in data:
            bridge = Bridge.from_json(data["bridge"])
            cls = ChannelEnteredBridge if kind == "ChannelEnteredBridge" else ChannelLeftBridge
            return cls(kind, app, data, channel, bridge)
    if kind == "RecordingFinished" and isinstance(data.get("recording"), dict):
        return RecordingFinished(kind, app, data, Recording.from_json(data["recording"]))
    return Event(kind, app, data)
