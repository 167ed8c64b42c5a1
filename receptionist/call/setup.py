"""What a call starts from: the shared dependencies, and, parsed once, the Stasis
arguments and the media leg format; the model session it opens, and the media it runs on
once all of it is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from receptionist.ari import AriClient
from receptionist.audio.clock import PlayoutClock
from receptionist.audio.writer import PacedWriter
from receptionist.audiosocket.connection import AudioSocketConnection
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.business import Business, build_instructions
from receptionist.business.languages import call_language
from receptionist.call.handoff.follow import Follower
from receptionist.model import ModelSession
from receptionist.realtime import SessionConfig
from receptionist.settings import Settings
from receptionist.store.protocols import CallWriter
from receptionist.tools.handoff import HandoffTools
from receptionist.turns.events import TurnLimits


class LegFormat(StrEnum):
    """The AudioSocket leg's audio. slin24 is the model's own rate: Asterisk converts the
    caller's audio to it (it converts a G.711 trunk call's 8 kHz in any case) with its
    streaming resampler, and nothing is resampled here. slin (8 kHz) works everywhere."""

    SLIN24 = "slin24"
    SLIN16 = "slin16"
    SLIN = "slin"

    @property
    def rate(self) -> int:
        return _RATES[self]


_RATES = {LegFormat.SLIN24: 24000, LegFormat.SLIN16: 16000, LegFormat.SLIN: 8000}


@dataclass(frozen=True, slots=True)
class StasisArgs:
    """`Stasis(app,inbound,<business>,<did>)` from [receptionist-inbound], or
    `Stasis(app,transfer-failed,<business>,<did>,<dial status>)` when a transfer came back."""

    kind: str = "inbound"
    business: str = ""
    did: str = ""
    dial_status: str = ""  # e.g. "NOANSWER", only for a transfer that came back

    @classmethod
    def parse(cls, args: tuple[str, ...] | list[str]) -> StasisArgs:
        fields = [*args, "", "", "", ""]
        kind = fields[0] or "inbound"
        status = fields[3] if kind == "transfer-failed" else ""
        return cls(kind=kind, business=fields[1], did=fields[2], dial_status=status)

    @property
    def returning(self) -> bool:
        return self.kind == "transfer-failed"


SessionFactory = Callable[[SessionConfig, Business], ModelSession]


@dataclass(frozen=True)
class CallDeps:
    """What every call shares: built once by the app, and never changed after."""

    settings: Settings
    ari: AriClient
    audiosocket: AudioSocketServer
    store: CallWriter
    new_session: SessionFactory | None  # None: no model configured, every call falls back
    app_name: str
    audiosocket_address: str  # host:port Asterisk connects to for the media leg
    playout_clock: PlayoutClock = field(default_factory=PlayoutClock)  # shared by all calls
    turn_limits: TurnLimits = field(default_factory=TurnLimits)
    clock: Callable[[], float] = time.monotonic
    follower: Follower | None = None  # follows callers who left Stasis, for the call log


def call_limits(settings: Settings, limits: TurnLimits) -> TurnLimits:
    """`limits` with the call length and the silence timeout the settings give."""
    return replace(
        limits,
        max_call_ms=settings.max_call_seconds * 1000,
        silence_ms=settings.silence_timeout_seconds * 1000,
    )


# Why a transfer came back, truthfully (anything else: nobody answered).
_NOT_TAKEN = {
    "DECLINED": "they picked up and could not take the call right now",  # a warm transfer's 2
    "BUSY": "the line was busy",
    "CHANUNAVAIL": "the phone could not be reached",
}


def greeting(business: Business, args: StasisArgs, returning_from: str) -> str:
    """The instructions for the call's first reply (the turn machine puts the recording
    consent before them when one is owed)."""
    if args.returning:
        what = _NOT_TAKEN.get(args.dial_status, "nobody answered")
        return (
            f"The caller was transferred to {returning_from} but {what} "
            f"({args.dial_status}). Apologise briefly and offer to take a message."
        )
    return f"Greet the caller, saying: {business.greeting}"


MODEL_CONNECT_TIMEOUT = 3.0  # the caller hears ring meanwhile; then a person


async def open_model(
    ari: AriClient, channel_id: str, tools: HandoffTools, new_session: SessionFactory
) -> ModelSession:
    """The call's model session, connected, in the caller's language (RealtimeUnavailable
    if it cannot be reached in time)."""
    business = tools.business
    # The dialplan's choice (by DID); None lets the model detect it.
    chosen = await ari.get_variable(channel_id, "RECEPTIONIST_LANGUAGE")
    language = call_language(business.languages, chosen)
    tools.speak_in(language)
    config = SessionConfig(
        instructions=build_instructions(business, datetime.now(UTC), language),
        tools=tools.schemas(),
        voice=business.voice.voice,
        transcription_language=language,
    )
    session = new_session(config, business)
    await session.connect(timeout=MODEL_CONNECT_TIMEOUT)
    return session


@dataclass(frozen=True, slots=True)
class Media:
    """The call's media once all of it is up: what the conversation runs on."""

    bridge_id: str
    leg: AudioSocketConnection
    writer: PacedWriter
    model: ModelSession
    leg_format: LegFormat

    @property
    def rate(self) -> int:
        return self.leg_format.rate
