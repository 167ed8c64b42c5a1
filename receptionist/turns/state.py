"""What the turn machine remembers: where the call is, and each reply and item, each as an
explicit state rather than a set of flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from receptionist.turns.events import HangupRequest, TransferRequest


class Phase(Enum):
    """Where the call is, as the turn rules see it."""

    TALKING = auto()  # the back and forth
    CHECKED_IN = auto()  # the caller went silent and was asked whether they are still there
    GOODBYE = auto()  # time is up or the silence went on: a goodbye, then the line closes
    ENDED = auto()  # hung up, transferred or handed over: nothing more plays or runs


class Consent(Enum):
    NOT_OWED = auto()  # no recording, or the consent has been heard whole
    OWED = auto()  # still to be heard: a reply that does not carry it must not go first
    ASKED = auto()  # the next reply to start carries it


class Generation(Enum):
    RUNNING = auto()
    COMPLETED = auto()
    STOPPED = auto()  # cancelled, incomplete or failed


class Hearing(Enum):
    WHOLE = auto()  # the caller has heard all of it so far
    CUT = auto()  # the caller did not hear all of it (barge-in)
    DROPPED = auto()  # cancelled by us before it played: its audio and tools are ignored


class Role(Enum):
    ANSWER = auto()
    CONSENT = auto()  # it carries the recording consent
    BEFORE_CONSENT = auto()  # dropped for going ahead of a cut consent: ask for it again


class Playout(Enum):
    PENDING = auto()  # queued or playing
    PLAYED = auto()
    CUT = auto()


@dataclass
class Item:
    response_id: str
    text: str | None = None
    audio_bytes: int = 0
    started_ms: int | None = None
    played_ms: int = 0
    playout: Playout = Playout.PENDING
    saved: bool = False


@dataclass
class Response:
    id: str
    items: list[str] = field(default_factory=list)
    generation: Generation = Generation.RUNNING
    hearing: Hearing = Hearing.WHOLE
    role: Role = Role.ANSWER
    action: TransferRequest | HangupRequest | None = None
    tool_calls: int = 0
    tools_running: int = 0
    needs_reply: bool = False  # a tool result the model should speak about

    @property
    def generated(self) -> bool:
        return self.generation is not Generation.RUNNING

    @property
    def heard_whole(self) -> bool:
        """Generated to the end and heard without a cut (so far)."""
        return self.generation is Generation.COMPLETED and self.hearing is Hearing.WHOLE
