"""The rules of a turn, each as events in and commands out (no I/O, no clock)."""

from __future__ import annotations

from receptionist.business import Department
from receptionist.core.outcomes import FallbackReason
from receptionist.realtime import (
    AssistantTranscript,
    AudioDelta,
    CallerTranscript,
    FunctionCall,
    ModelError,
    ResponseDone,
    ResponseStarted,
    SessionClosed,
    SpeechDismissed,
    SpeechStarted,
    SpeechStopped,
    SpeechTentative,
)
from receptionist.realtime.audio_format import BYTES_PER_MS
from receptionist.turns.events import (
    Cancel,
    CheckTransfer,
    Clear,
    Command,
    Dtmf,
    Fallback,
    FinishItems,
    Greet,
    HangUp,
    HangupRequest,
    Pause,
    Play,
    PlayFiller,
    PlayoutDone,
    PlayoutStarted,
    RequestResponse,
    Resume,
    RunTool,
    SaveTurn,
    StartRecording,
    Tick,
    ToolOutput,
    ToolResult,
    Transfer,
    TransferChecked,
    TransferRequest,
    Truncate,
    TurnEvent,
    TurnLimits,
)
from receptionist.turns.machine import Turns

CONSENT = "This call may be recorded."
FRONT_DESK = TransferRequest(Department(name="Front Desk", extension="201"))


def pcm(ms: int) -> bytes:
    return bytes(ms * BYTES_PER_MS)


class Run:
    """A Turns machine and every command it gave, fed at explicit times."""

    def __init__(self, turns: Turns | None = None) -> None:
        self.turns = turns or Turns()
        self.log: list[Command] = []

    def __call__(self, event: TurnEvent, at: int = 0) -> list[Command]:
        out = self.turns.handle(event, at)
        self.log += out
        return out

    def of(self, kind: type) -> list[Command]:
        return [c for c in self.log if isinstance(c, kind)]

    def reply(self, rid: str, item: str, ms: int, text: str = "", at: int = 0) -> None:
        """A whole reply generated (faster than real time) at `at`."""
        self(ResponseStarted(rid), at)
        self(AudioDelta(item, rid, 0, pcm(ms)), at)
        if text:
            self(AssistantTranscript(item, rid, text), at)


def tool_call(rid: str, n: int, name: str = "lookup_faq") -> FunctionCall:
    return FunctionCall(f"call_{rid}_{n}", name, "{}", rid, f"fc_{rid}_{n}")


# ---------------------------------------------------------------- barge-in
def test_barge_in_after_generation_finished_clears_truncates_and_saves_what_was_heard() -> None:
    run = Run()
    run.reply("r1", "i1", 6000, "A very long answer about our hours.", at=0)
    run(ResponseDone("r1", "completed"), 50)
    run(PlayoutStarted("i1"), 100)
    # Generation is over: nothing to cancel, but playback must stop.
    assert run(SpeechStarted(0, "c1"), 1200) == [Clear()]
    out = run(PlayoutDone("i1", 1100, interrupted=True), 1210)
    heard = "A very long answer about our hours. [cut off: heard 1100 of 6000 ms]"
    assert out == [Truncate("i1", 1100), SaveTurn("assistant", heard, 100, 1200)]


def test_barge_in_mid_generation_cancels_drops_later_audio_and_saves_the_partial_words() -> None:
    run = Run()
    run(ResponseStarted("r1"), 0)
    run(AudioDelta("i1", "r1", 0, pcm(400)), 10)
    run(PlayoutStarted("i1"), 20)
    assert run(SpeechStarted(0, "c1"), 300) == [Cancel("r1"), Clear()]
    assert run(AudioDelta("i1", "r1", 0, pcm(400)), 310) == []  # still in flight: never played
    run(PlayoutDone("i1", 280, interrupted=True), 320)
    out = run(ResponseDone("r1", "cancelled", partial_transcripts=(("i1", "Our opening"),)), 330)
    assert FinishItems(("i1",), flush=False) in out
    assert SaveTurn("assistant", "Our opening [cut off: heard 280 of 400 ms]", 20, 300) in out
    assert run.of(Truncate) == [Truncate("i1", 280)]


def test_a_tentative_start_holds_playback_and_a_dismissed_one_plays_on_uncut() -> None:
    """Two-stage barge-in (our own turn-taking): the first voiced frames hold playback,
    nothing is cancelled; if that was a cough, the reply plays on and is heard whole."""
    run = Run()
    run.reply("r1", "i1", 3000, "Our hours are nine to five.", at=0)
    run(PlayoutStarted("i1"), 20)
    assert run(SpeechTentative(900), 900) == [Pause()]
    assert run(SpeechTentative(920), 920) == []  # held once
    assert run(AudioDelta("i1", "r1", 0, pcm(200)), 950) == [Play("i1", pcm(200))]
    assert run(SpeechDismissed(), 1040) == [Resume()]
    assert run(SpeechDismissed(), 1060) == []
    run(ResponseDone("r1", "completed"), 1100)
    out = run(PlayoutDone("i1", 3200, interrupted=False), 3400)
    assert out == [SaveTurn("assistant", "Our hours are nine to five.", 20, 3220)]
    assert run.of(Clear) == [] and run.of(Cancel) == [] and run.of(Truncate) == []


def test_a_tentative_start_confirmed_is_a_barge_in_truncated_at_what_was_heard() -> None:
    run = Run()
    run(ResponseStarted("r1"), 0)
    run(AudioDelta("i1", "r1", 0, pcm(2000)), 10)
    run(PlayoutStarted("i1"), 20)
    assert run(SpeechTentative(500), 500) == [Pause()]
    # 160 ms of voice: the turn starts; what the Pause held is dropped, never resumed.
    assert run(SpeechStarted(500, "c1"), 620) == [Cancel("r1"), Clear()]
    assert run(SpeechDismissed(), 700) == []
    assert run(PlayoutDone("i1", 480, interrupted=True), 630)[0] == Truncate("i1", 480)
    assert run.of(Resume) == []
    # A later tentative start holds again.
    assert run(SpeechTentative(2000), 2000) == [Pause()]


def test_an_interrupted_replys_hang_up_is_not_carried_out() -> None:
    run = Run()
    run.reply("r1", "i1", 3000, "Goodbye!")
    run(tool_call("r1", 1, "end_call"))
    run(ToolResult("call_r1_1", "r1", "The call will end.", HangupRequest()))
    run(ResponseDone("r1", "completed"))
    run(PlayoutStarted("i1"), 10)
    run(SpeechStarted(0, "c1"), 900)
    run(PlayoutDone("i1", 890, interrupted=True), 905)
    assert run.of(HangUp) == [] and not run.turns.ended


def test_an_interrupted_replys_transfer_is_not_carried_out() -> None:
    run = Run()
    run(ResponseStarted("r1"))
    run(AudioDelta("i1", "r1", 0, pcm(2000)))
    run(tool_call("r1", 1, "transfer_call"))
    run(SpeechStarted(0, "c1"), 500)  # mid-generation, before the tool result is back
    result = ToolResult("call_r1_1", "r1", "Transferring.", FRONT_DESK)
    run(result, 510)
    run(TransferChecked(result, ""), 515)
    run(ResponseDone("r1", "cancelled"), 520)
    run(PlayoutDone("i1", 480, interrupted=True), 530)
    assert run.of(Transfer) == []


def test_a_reply_heard_to_the_end_transfers_only_after_it_has_played() -> None:
    run = Run()
    run.reply("r1", "i1", 1500, "Connecting you now.")
    run(tool_call("r1", 1, "transfer_call"))
    result = ToolResult("call_r1_1", "r1", "Transferring.", FRONT_DESK)
    assert run(result) == [CheckTransfer(result, FRONT_DESK)]  # is the phone free?
    assert run(TransferChecked(result, "")) == [ToolOutput("call_r1_1", "Transferring.")]
    assert run(ResponseDone("r1", "completed"), 20) == [FinishItems(("i1",), flush=True)]
    assert run.of(Transfer) == []  # "Connecting you now" must be heard first
    run(PlayoutStarted("i1"), 30)
    out = run(PlayoutDone("i1", 1500, interrupted=False), 1530)
    assert out[-1] == Transfer(FRONT_DESK)


# ---------------------------------------------------------------- consent
def test_consent_cut_by_barge_in_is_said_again_before_the_next_reply() -> None:
    run = Run(Turns(consent_text=CONSENT))
    run(Greet("say the consent, then greet"))
    run.reply("r1", "i1", 3000, CONSENT + " Hello!")
    run(ResponseDone("r1", "completed"))
    run(PlayoutStarted("i1"), 10)
    run(SpeechStarted(0, "c1"), 800)
    run(PlayoutDone("i1", 790, interrupted=True), 805)
    assert run.of(StartRecording) == []
    run(SpeechStopped(1500, "c1"), 1500)
    # The server answers the caller's turn itself: that reply must not come before the consent.
    assert run(ResponseStarted("r2"), 1600) == [Cancel("r2")]
    assert run(AudioDelta("i2", "r2", 0, pcm(500)), 1610) == []
    out = run(ResponseDone("r2", "cancelled"), 1620)
    assert len(out) == 1 and isinstance(out[0], RequestResponse)
    assert out[0].instructions is not None and CONSENT in out[0].instructions
    run.reply("r3", "i3", 2000, CONSENT + " Sure.", at=1700)
    run(ResponseDone("r3", "completed"), 1710)
    run(PlayoutStarted("i3"), 1720)
    assert run.of(StartRecording) == []  # not before the consent has been heard
    run(PlayoutDone("i3", 2000, interrupted=False), 3720)
    assert run.of(StartRecording) == [StartRecording()]


def test_consent_heard_whole_starts_recording_once_it_has_played() -> None:
    run = Run(Turns(consent_text=CONSENT))
    run(Greet("say the consent, then greet"))
    run.reply("r1", "i1", 2000, CONSENT)
    run(ResponseDone("r1", "completed"))
    assert run.of(StartRecording) == []
    run(PlayoutDone("i1", 2000, interrupted=False), 2100)
    assert run.of(StartRecording) == [StartRecording()]
    assert run(ResponseStarted("r2"), 3000) == []  # no more consent to say


# ---------------------------------------------------------------- transcript as heard
def test_assistant_line_is_timed_by_playout_not_by_when_its_transcript_came() -> None:
    run = Run()
    run.reply("r1", "i1", 2000, "Hello, Sunrise Dental.", at=5)
    run(ResponseDone("r1", "completed"), 40)
    assert run.of(SaveTurn) == []  # transcript in, but nothing heard yet
    run(PlayoutStarted("i1"), 300)
    run(PlayoutDone("i1", 2000, interrupted=False), 2300)
    assert run.of(SaveTurn) == [SaveTurn("assistant", "Hello, Sunrise Dental.", 300, 2300)]


def test_caller_line_runs_from_speech_start_to_speech_stop() -> None:
    run = Run()
    run(SpeechStarted(0, "c1"), 1000)
    run(SpeechStopped(0, "c1"), 2500)
    assert run(CallerTranscript("c1", "Are you open?"), 2900) == [
        SaveTurn("caller", "Are you open?", 1000, 2500)
    ]


# ---------------------------------------------------------------- no dead air
def test_late_first_audio_gets_a_filler_then_the_fallback() -> None:
    run = Run(Turns(limits=TurnLimits(filler_after_ms=1500, fallback_after_ms=4000)))
    assert run(Greet("greet"), 0) == [RequestResponse("greet")]
    assert run.turns.next_deadline_ms() == 1500
    assert run(Tick(), 1499) == []
    assert run(Tick(), 1500) == [PlayFiller()]
    assert run.turns.next_deadline_ms() == 4000
    assert run(Tick(), 4000) == [Fallback(FallbackReason.NO_MODEL_AUDIO)]
    assert run.turns.next_deadline_ms() is None


def test_audio_in_time_stops_the_deadline() -> None:
    run = Run()
    run(Greet("greet"), 0)
    run(ResponseStarted("r1"), 200)
    run(AudioDelta("i1", "r1", 0, pcm(100)), 900)
    assert run.turns.next_deadline_ms() is None
    assert run(Tick(), 5000) == []


def test_deadline_waits_while_earlier_audio_is_still_playing() -> None:
    run = Run()
    run.reply("r1", "i1", 5000, "Let me check.", at=0)
    run(tool_call("r1", 1), 10)
    run(ResponseDone("r1", "completed"), 20)
    run(ToolResult("call_r1_1", "r1", "Open 9 to 5."), 30)  # a follow-up reply is asked for
    run(Tick(), 3000)  # "Let me check." is still playing
    run(PlayoutDone("i1", 5000, interrupted=False), 5000)
    assert run.of(PlayFiller) == []
    assert run.turns.next_deadline_ms() == 6500


def test_a_slow_tool_gets_fillers_and_the_tool_wait_not_the_reply_deadline() -> None:
    """A booking answering after 6 s: the caller hears the filler again and again, and the
    result, not the fallback at 4 s (a half booking happened that way)."""
    limits = TurnLimits(filler_after_ms=1500, fallback_after_ms=4000, tool_wait_ms=10_000,
                        tool_filler_every_ms=4000)  # fmt: skip
    run = Run(Turns(limits=limits))
    run(Greet("greet"), 0)
    run(ResponseStarted("r1"), 100)
    run(tool_call("r1", 1, "book_appointment"), 200)
    run(ResponseDone("r1", "completed"), 210)
    for at in (1600, 4000, 5600, 9000):
        run(Tick(), at)
    assert run.of(PlayFiller) == [PlayFiller(), PlayFiller()]  # at 1.6 s and 5.6 s
    assert run.of(Fallback) == []
    out = run(ToolResult("call_r1_1", "r1", "Booked."), 6000)
    assert out == [ToolOutput("call_r1_1", "Booked."), RequestResponse()]
    # The reply about the result has its own deadline, from the result on.
    assert run.turns.next_deadline_ms() == 7500
    run(ResponseStarted("r2"), 6300)
    run(AudioDelta("i2", "r2", 0, pcm(500)), 6800)
    assert run.of(Fallback) == [] and run.turns.next_deadline_ms() is None


def test_a_tool_past_the_tool_wait_ends_in_the_fallback() -> None:
    limits = TurnLimits(filler_after_ms=1500, tool_wait_ms=10_000, tool_filler_every_ms=4000)
    run = Run(Turns(limits=limits))
    run(ResponseStarted("r1"), 0)
    run(tool_call("r1", 1), 10)
    run(ResponseDone("r1", "completed"), 20)
    assert run.turns.next_deadline_ms() == 1500
    run(Tick(), 1500)
    run(Tick(), 5500)
    run(Tick(), 9500)
    assert run.turns.next_deadline_ms() == 10_000
    assert run(Tick(), 10_000) == [Fallback(FallbackReason.NO_MODEL_AUDIO)]
    assert len(run.of(PlayFiller)) == 3


def test_the_tool_wait_starts_once_what_the_reply_said_has_played() -> None:
    run = Run(Turns(limits=TurnLimits(filler_after_ms=1500, tool_wait_ms=10_000)))
    run.reply("r1", "i1", 3000, "Let me check.", at=0)
    run(tool_call("r1", 1), 10)
    run(ResponseDone("r1", "completed"), 20)
    run(PlayoutDone("i1", 3000, interrupted=False), 3000)
    assert run.turns.next_deadline_ms() == 4500
    assert run(Tick(), 4500) == [PlayFiller()]


# ---------------------------------------------------------------- tools
def test_tool_calls_in_one_reply_are_capped_then_the_fallback() -> None:
    run = Run(Turns(limits=TurnLimits(tools_per_response=3)))
    run(ResponseStarted("r1"))
    for n in range(5):
        run(tool_call("r1", n))
    assert len(run.of(RunTool)) == 3
    assert run.of(Fallback) == [Fallback(FallbackReason.TOOL_LIMIT)]


def test_tool_calls_in_one_call_are_capped_then_the_fallback() -> None:
    run = Run(Turns(limits=TurnLimits(tools_per_call=4)))
    for r in range(5):
        run(ResponseStarted(f"r{r}"))
        run(tool_call(f"r{r}", 0))
        run(ToolResult(f"call_r{r}_0", f"r{r}", "ok"))
        run(ResponseDone(f"r{r}", "completed"))
    assert len(run.of(RunTool)) == 4
    assert run.of(Fallback) == [Fallback(FallbackReason.TOOL_LIMIT)]


def test_messages_per_call_are_capped_and_the_model_is_told() -> None:
    run = Run(Turns(limits=TurnLimits(messages_per_call=2)))
    run(ResponseStarted("r1"))
    for n in range(3):
        run(tool_call("r1", n, "take_message"))
    assert [c.call_id for c in run.of(RunTool)] == ["call_r1_0", "call_r1_1"]  # type: ignore[attr-defined]
    [refusal] = run.of(ToolOutput)
    assert isinstance(refusal, ToolOutput) and refusal.call_id == "call_r1_2"
    assert "Not saved" in refusal.output


def test_tool_results_of_one_reply_get_one_follow_up_reply() -> None:
    run = Run()
    run(ResponseStarted("r1"))
    run(tool_call("r1", 1))
    run(tool_call("r1", 2))
    run(ToolResult("call_r1_1", "r1", "a"))
    run(ResponseDone("r1", "completed"))
    assert run.of(RequestResponse) == []  # one result still out
    run(ToolResult("call_r1_2", "r1", "b"))
    assert run.of(RequestResponse) == [RequestResponse()]
    assert [c.call_id for c in run.of(ToolOutput)] == ["call_r1_1", "call_r1_2"]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the caller and the session
def test_pressing_0_hands_the_caller_to_a_person_and_other_keys_do_not() -> None:
    run = Run()
    assert run(Dtmf("5")) == []
    assert run(Dtmf("0")) == [Fallback(FallbackReason.CALLER_PRESSED_0)]
    assert run(Dtmf("0")) == []  # once


def test_a_keypad_key_acts_mid_reply_and_ends_the_turns() -> None:
    voicemail = Transfer(TransferRequest(FRONT_DESK.department, voicemail=True))
    run = Run(Turns(keypad={"9": voicemail}))
    run(ResponseStarted("r1"))
    run(AudioDelta("i1", "r1", 0, pcm(100)))
    assert run(Dtmf("0")) == []  # this business's keypad gives 0 no meaning
    assert run(Dtmf("9"), at=50) == [voicemail]
    assert run(AudioDelta("i1", "r1", 1, pcm(100))) == []  # nothing more plays


def test_only_a_closed_session_or_a_fatal_error_ends_the_call() -> None:
    run = Run()
    assert run(ModelError("rate limited", "rate_limit_exceeded")) == []
    assert run(ModelError("expired", "session_expired")) == [Fallback(FallbackReason.MODEL_ERROR)]
    closed = Run()
    assert closed(SessionClosed("connection lost")) == [Fallback(FallbackReason.MODEL_DROPPED)]


def test_nothing_plays_or_runs_after_the_call_ended() -> None:
    run = Run()
    run(Dtmf("0"))
    assert run(ResponseStarted("r1")) == []
    assert run(AudioDelta("i1", "r1", 0, pcm(100))) == []
    assert run(tool_call("r1", 1)) == []
    assert not any(isinstance(c, Play) for c in run.log)
