"""What a call starts from: the shared dependencies, and, parsed once, the Stasis
arguments and the media leg format."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from receptionist.ari import AriClient
from receptionist.audio.clock import PlayoutClock
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.business import Business
from receptionist.call.handoff.follow import Follower
from receptionist.model import ModelSession
from receptionist.realtime import SessionConfig
from receptionist.settings import Settings
from receptionist.store.protocols import CallWriter
from receptionist.turns.events import TurnLimits


class LegFormat(StrEnum):
    """The AudioSocket leg's audio: slin16 where Asterisk has it, slin (8 kHz) otherwise."""

    SLIN16 = "slin16"
    SLIN = "slin"

    @property
    def rate(self) -> int:
        return 16000 if self is LegFormat.SLIN16 else 8000


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


@dataclass
class CallDeps:
    """What every call shares: built once by the app."""

    settings: Settings
    ari: AriClient
    audiosocket: AudioSocketServer
    store: CallWriter
    new_session: SessionFactory | None  # None: no model configured, every call falls back
    app_name: str
    audiosocket_address: str  # host:port Asterisk connects to for the media leg
    leg_format: LegFormat | None = None  # None until the app has asked Asterisk its version
    playout_clock: PlayoutClock = field(default_factory=PlayoutClock)  # shared by all calls
    turn_limits: TurnLimits = field(default_factory=TurnLimits)
    clock: Callable[[], float] = time.monotonic
    follower: Follower | None = None  # follows callers who left Stasis, for the call log


# Why a transfer came back, truthfully (anything else: nobody answered).
_NOT_TAKEN = {
    "DECLINED": "they picked up and could not take the call right now",  # a warm transfer's 2
    "BUSY": "the line was busy",
    "CHANUNAVAIL": "the phone could not be reached",
}


def greeting(business: Business, args: StasisArgs, returning_from: str) -> str:
    """The instructions for the call's first reply."""
    if args.returning:
        what = _NOT_TAKEN.get(args.dial_status, "nobody answered")
        return (
            f"The caller was transferred to {returning_from} but {what} "
            f"({args.dial_status}). Apologise briefly and offer to take a message."
        )
    if business.recording.enabled:
        return (
            f'First say exactly: "{business.recording.consent_text}" '
            f"Then greet the caller, saying: {business.greeting}"
        )
    return f"Greet the caller now, saying: {business.greeting}"
