"""A call that does nothing but carry audio: the conversation's far ends for benchmarks."""

from __future__ import annotations

from receptionist.audio.writer import PacedWriter
from receptionist.call.conversation import Conversation
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.realtime import RealtimeSession
from receptionist.tools.spec import ToolOutcome
from receptionist.turns.events import Speaker, TransferRequest, TurnLimits
from receptionist.turns.machine import Turns

# The benchmarks' model streams for minutes without a turn: no deadline may end it.
PATIENT = TurnLimits(
    filler_after_ms=10**9, fallback_after_ms=10**9, max_call_ms=10**9, silence_ms=10**9
)


class QuietCall:
    """CallControl, TranscriptSink and ToolRunner that accept everything and do nothing."""

    async def hang_up(self) -> None:
        pass

    async def transfer(self, request: TransferRequest) -> None:
        pass

    async def fallback(self, reason: FallbackReason) -> None:
        pass

    async def start_recording(self) -> None:
        pass

    async def record_outcome(self, outcome: Outcome) -> None:
        pass

    async def transfer_refusal(self, request: TransferRequest) -> str:
        return ""

    async def add_turn(self, speaker: Speaker, text: str, start_ms: int, end_ms: int) -> None:
        pass

    async def call(self, name: str, arguments: str) -> ToolOutcome:
        return ToolOutcome("ok")


def audio_only_conversation(
    session: RealtimeSession, writer: PacedWriter, rate: int
) -> Conversation:
    """A Conversation as a call runs it, minus everything but the audio path."""
    quiet = QuietCall()
    return Conversation(
        session, writer, rate, control=quiet, transcript=quiet, tools=quiet,
        turns=Turns(limits=PATIENT),
    )  # fmt: skip
