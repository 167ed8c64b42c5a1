"""The turn's time rules with a fake clock: plain integer milliseconds handed to the
machine, Ticks sent where `next_deadline_ms` says. No sleeps, no event loop."""

from __future__ import annotations

import pytest

from receptionist.business import Department
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.realtime.audio_format import BYTES_PER_MS
from receptionist.realtime.events import (
    AudioDelta,
    FunctionCall,
    ResponseDone,
    ResponseStarted,
    SpeechStarted,
)
from receptionist.turns import wording
from receptionist.turns.events import (
    Abort,
    CallerVoice,
    CheckTransfer,
    Command,
    Fallback,
    Greet,
    HangUp,
    HangupRequest,
    PlayoutDone,
    PlayoutStarted,
    RecordOutcome,
    RequestResponse,
    Tick,
    ToolOutput,
    ToolResult,
    Transfer,
    TransferChecked,
    TransferRequest,
    TurnLimits,
)
from receptionist.turns.machine import Turns
from receptionist.turns.state import Phase

LIMITS = TurnLimits(max_call_ms=600_000, silence_ms=30_000, goodbye_grace_ms=10_000)
FRONT_DESK = TransferRequest(Department(name="Front Desk", extension="201"))
CHECK_IN = RequestResponse(wording.CHECK_IN)
TIME_UP = RequestResponse(wording.goodbye(wording.MAX_CALL_REACHED))
SILENT = RequestResponse(wording.goodbye(wording.CALLER_SILENT))


class Clock:
    """A Turns machine driven by a fake clock: `at(ms)` moves time on, sending a Tick at
    every deadline the machine names on the way, as the conversation's timer does."""

    def __init__(self, limits: TurnLimits = LIMITS, **options: object) -> None:
        self.turns = Turns(limits=limits, **options)  # type: ignore[arg-type]
        self.now = 0
        self.log: list[tuple[int, Command]] = []

    def feed(self, event: object, at: int | None = None) -> list[Command]:
        if at is not None:
            self.at(at)
        out = self.turns.handle(event, self.now)  # type: ignore[arg-type]
        self.log += [(self.now, c) for c in out]
        return out

    def at(self, ms: int) -> list[Command]:
        """Time passes up to `ms`; what the Ticks on the way gave."""
        out: list[Command] = []
        while (deadline := self.turns.next_deadline_ms()) is not None and deadline <= ms:
            assert deadline >= self.now, "a deadline in the past would spin the timer"
            self.now = deadline
            out += self.feed(Tick())
        self.now = ms
        return out

    def reply(self, rid: str, ms: int, *, tool: str | None = None) -> None:
        """A reply generated now and played whole, from now to now + ms."""
        item = f"i-{rid}"
        self.feed(ResponseStarted(rid))
        self.feed(AudioDelta(item, rid, 0, bytes(ms * BYTES_PER_MS)))
        if tool is not None:
            self.feed(FunctionCall(f"call-{rid}", tool, "{}", rid, f"fc-{rid}"))
        self.feed(ResponseDone(rid, "completed"))
        self.feed(PlayoutStarted(item))
        self.feed(PlayoutDone(item, ms, interrupted=False), self.now + ms)

    def greeted(self) -> None:
        self.feed(Greet("Greet the caller."))
        self.reply("greeting", 2000)  # played from 0 to 2000

    def commands(self, kind: type) -> list[tuple[int, Command]]:
        return [(at, c) for at, c in self.log if isinstance(c, kind)]


# ---------------------------------------------------------------- silence
def test_a_silent_caller_gets_a_check_in_once_both_sides_were_quiet_for_the_timeout() -> None:
    clock = Clock()
    clock.greeted()
    assert clock.turns.next_deadline_ms() == 32_000  # from the end of the greeting
    assert clock.at(31_999) == []
    assert clock.at(32_000) == [CHECK_IN]
    assert clock.turns.phase is Phase.CHECKED_IN


def test_the_caller_speaking_holds_the_silence_count() -> None:
    clock = Clock()
    clock.greeted()
    clock.feed(CallerVoice(speaking=True), 10_000)
    assert clock.at(60_000) == []  # a long story is not silence
    clock.feed(CallerVoice(speaking=False), 60_000)
    assert clock.turns.next_deadline_ms() == 90_000


def test_the_silence_waits_while_a_reply_is_under_way() -> None:
    clock = Clock()
    clock.greeted()
    clock.feed(ResponseStarted("long"), 5000)
    clock.feed(AudioDelta("i-long", "long", 0, bytes(40_000 * BYTES_PER_MS)))
    clock.feed(ResponseDone("long", "completed"))
    assert clock.at(40_000) == []  # 35 s of reply playing: nobody is silent
    clock.feed(PlayoutDone("i-long", 40_000, interrupted=False), 45_000)
    assert clock.turns.next_deadline_ms() == 75_000


def test_a_second_silence_after_the_check_in_gets_a_goodbye_then_the_line_closes() -> None:
    clock = Clock()
    clock.greeted()
    assert clock.at(32_000) == [CHECK_IN]
    clock.reply("check-in", 1500)  # "Are you still there?" played until 33_500
    assert clock.at(63_499) == []
    assert clock.at(63_500) == [RecordOutcome(Outcome.CALLER_SILENT), SILENT]
    assert clock.turns.phase is Phase.GOODBYE
    clock.reply("goodbye", 1000)  # the model says goodbye but never calls end_call
    assert clock.at(73_499) == []
    assert clock.at(73_500) == [HangUp()]  # the grace, counted from asking for the goodbye
    assert clock.turns.ended and clock.turns.next_deadline_ms() is None


def test_a_caller_who_answers_the_check_in_gets_a_new_check_in_next_time() -> None:
    clock = Clock()
    clock.greeted()
    clock.at(32_000)
    clock.reply("check-in", 1000)
    clock.feed(CallerVoice(speaking=True), 35_000)  # "Yes, sorry, I'm here."
    clock.feed(CallerVoice(speaking=False), 36_000)
    assert clock.turns.phase is Phase.TALKING
    assert clock.at(66_000) == [CHECK_IN]


# ---------------------------------------------------------------- call length
def test_the_maximum_call_length_asks_for_a_goodbye_and_records_why() -> None:
    clock = Clock(TurnLimits(max_call_ms=60_000, silence_ms=600_000))
    clock.greeted()
    assert clock.at(59_999) == []
    assert clock.at(60_000) == [RecordOutcome(Outcome.MAX_DURATION), TIME_UP]
    assert clock.turns.phase is Phase.GOODBYE
    # The model ends the call itself: hung up once the goodbye has played, once.
    clock.feed(ResponseStarted("bye"))
    clock.feed(AudioDelta("i-bye", "bye", 0, bytes(800 * BYTES_PER_MS)))
    clock.feed(FunctionCall("call-bye", "end_call", "{}", "bye", "fc-bye"))
    clock.feed(ToolResult("call-bye", "bye", "The call will end.", HangupRequest()))
    clock.feed(ResponseDone("bye", "completed"))
    assert clock.feed(PlayoutDone("i-bye", 800, interrupted=False), 61_000) == [HangUp()]
    assert clock.at(80_000) == []  # no second hang-up at the end of the grace


def test_the_call_length_waits_for_the_reply_playing_then_asks_for_the_goodbye() -> None:
    clock = Clock(TurnLimits(max_call_ms=60_000, silence_ms=600_000))
    clock.greeted()
    clock.feed(ResponseStarted("r"), 58_000)
    clock.feed(AudioDelta("i-r", "r", 0, bytes(5000 * BYTES_PER_MS)))
    clock.feed(ResponseDone("r", "completed"))
    assert clock.at(62_000) == []  # no goodbye over a reply the caller is hearing
    out = clock.feed(PlayoutDone("i-r", 5000, interrupted=False), 63_000)
    assert out[-2:] == [RecordOutcome(Outcome.MAX_DURATION), TIME_UP]


# ---------------------------------------------------------------- goodbye grace
def test_the_goodbye_grace_waits_for_audio_still_playing() -> None:
    clock = Clock(TurnLimits(max_call_ms=60_000, silence_ms=600_000, goodbye_grace_ms=10_000))
    clock.greeted()
    clock.at(60_000)
    clock.feed(ResponseStarted("bye"), 60_500)
    clock.feed(AudioDelta("i-bye", "bye", 0, bytes(15_000 * BYTES_PER_MS)))
    clock.feed(ResponseDone("bye", "completed"))
    assert clock.at(74_000) == []  # past the grace, but the goodbye is still playing
    assert clock.feed(PlayoutDone("i-bye", 15_000, interrupted=False), 75_500)[-1] == HangUp()


def test_a_goodbye_cut_by_the_caller_still_ends_after_the_grace() -> None:
    clock = Clock(TurnLimits(max_call_ms=60_000, silence_ms=600_000, goodbye_grace_ms=10_000))
    clock.greeted()
    clock.at(60_000)
    clock.feed(ResponseStarted("bye"), 60_200)
    clock.feed(AudioDelta("i-bye", "bye", 0, bytes(3000 * BYTES_PER_MS)))
    clock.feed(SpeechStarted(0, "c1"), 61_000)
    clock.feed(PlayoutDone("i-bye", 600, interrupted=True), 61_010)
    clock.feed(ResponseDone("bye", "cancelled"), 61_020)
    assert clock.at(70_000) == [HangUp()]


# ---------------------------------------------------------------- transfer refusal
def test_a_refused_transfer_is_not_carried_out_and_the_model_says_why() -> None:
    clock = Clock()
    clock.greeted()
    clock.feed(ResponseStarted("r"), 5000)
    clock.feed(AudioDelta("i-r", "r", 0, bytes(1000 * BYTES_PER_MS)))
    clock.feed(FunctionCall("call-r", "transfer_call", "{}", "r", "fc-r"))
    result = ToolResult("call-r", "r", "Transferring.", FRONT_DESK)
    assert clock.feed(result) == [CheckTransfer(result, FRONT_DESK)]
    refusal = "Front Desk's phone is busy: offer to take a message."
    assert clock.feed(TransferChecked(result, refusal)) == [ToolOutput("call-r", refusal)]
    assert clock.feed(ResponseDone("r", "completed"))[-1] == RequestResponse()  # says why
    clock.feed(PlayoutDone("i-r", 1000, interrupted=False), 6000)
    assert clock.commands(Transfer) == []


def test_a_mailbox_transfer_needs_no_phone_check() -> None:
    clock = Clock()
    mailbox = TransferRequest(FRONT_DESK.department, voicemail=True)
    clock.feed(ResponseStarted("r"))
    clock.feed(FunctionCall("call-r", "leave_voicemail", "{}", "r", "fc-r"))
    assert clock.feed(ToolResult("call-r", "r", "Sending.", mailbox)) == [
        ToolOutput("call-r", "Sending.")
    ]
    assert clock.feed(ResponseDone("r", "completed")) == [Transfer(mailbox)]


# ---------------------------------------------------------------- the rest
def test_the_consent_goes_before_the_greeting_but_not_for_a_returning_caller() -> None:
    consent = "This call may be recorded."
    first = Turns(consent_text=consent).handle(Greet("Greet the caller."), 0)
    assert first == [RequestResponse(f'First say exactly: "{consent}" Then greet the caller.')]
    back = Turns(consent_text=consent).handle(Greet("Apologise.", consent=False), 0)
    assert back == [RequestResponse("Apologise.")]


def test_a_broken_step_falls_back_and_ended_is_only_set_by_events() -> None:
    turns = Turns()
    with pytest.raises(AttributeError):
        turns.ended = True  # type: ignore[misc]
    assert turns.handle(Abort(FallbackReason.INTERNAL_ERROR), 0) == [
        Fallback(FallbackReason.INTERNAL_ERROR)
    ]
    assert turns.ended and turns.handle(Abort(FallbackReason.INTERNAL_ERROR), 1) == []
