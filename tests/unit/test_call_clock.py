"""The call page's one clock: transcript turns count from the answer, tool calls are
stamped with wall-clock times; a call that rang first must still show each tool call
between the replies it came between (measured from the call's start, it lands late by
the ring time)."""

from __future__ import annotations

from pathlib import Path

from receptionist.audio.tones import tone
from receptionist.store.timeline import timeline, tool_summary
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.unit.test_call_flow import RATE, SLUG, rig, tone_ms
from tests.waiting import eventually

MESSAGE = {"caller_name": "Jane Roe", "callback_number": "+15552345678",
           "message": "Please call me about my crown."}  # fmt: skip


async def test_a_tool_call_sits_between_the_replies_it_came_between_after_a_2s_ring(
    tmp_path: Path,
) -> None:
    script = Script(
        replies=[
            Reply(tone24(1000, 0.4), "Hello, Sunrise Dental."),
            Reply(tone24(1000, 0.6), "Let me note that.",
                  calls=(ToolCall("take_message", MESSAGE),)),
            Reply(tone24(1000, 0.5), "It is saved: the team will call you back."),
        ],
        caller_transcripts=["Can someone call me back?"],
    )  # fmt: skip
    # The model's handshake takes 2 s: the caller hears 2 s of ring before the answer.
    async with rig(tmp_path, script, handshake_delay_s=2.0) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 380)
        await phone.say(tone(440, 600, RATE) + bytes(RATE * 2))
        await r.turns(call_id, 4)  # greeting, caller, the reply with the tool, the last reply
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    assert row.answered_at is not None
    assert (row.answered_at - row.started_at).total_seconds() >= 2.0  # it rang first
    order = [e.turn.text if e.turn else f"tool {e.tool.name}" for e in timeline(row)]
    assert order == [
        "Hello, Sunrise Dental.",
        "Can someone call me back?",
        "Let me note that.",
        "tool take_message",
        "It is saved: the team will call you back.",
    ]
    [tool] = row.tool_calls
    assert tool.result.startswith("Saved message number")  # what the model was told...
    assert tool_summary(tool) == "Message saved: Jane Roe, +15552345678"  # ...and staff see


async def test_a_caller_back_from_a_transfer_stays_on_the_first_answer_s_clock(
    tmp_path: Path,
) -> None:
    """Nobody took the transfer: the caller comes back to a new conversation whose own
    clock starts at 0; its turns still come after the first conversation's tool call."""
    transfer = ToolCall("transfer_call", {"department": "Front Desk"})
    script = Script(
        replies=[
            Reply(tone24(1000, 0.4), "Putting you through.", calls=(transfer,)),
            Reply(tone24(1000, 0.4), "Nobody answered: can I take a message?"),
        ]
    )
    async with rig(tmp_path, script) as r:
        r.ari.endpoints["PJSIP/203"] = ("online", False)
        call_id = r.call()
        await r.ari.wait_for("continue", call_id)
        await eventually(lambda: call_id not in r.app.calls)
        # [receptionist-transfer] sends the caller back: Stasis(app,transfer-failed,...).
        r.ari.channels[call_id].continued = None
        r.ari._emit("StasisStart", call_id, args=["transfer-failed", SLUG, "", "NOANSWER"])
        await r.turns(call_id, 2)
        r.ari.caller_hangs_up(call_id)
        row = await r.ended(call_id)
    order = [e.turn.text if e.turn else f"tool {e.tool.name}" for e in timeline(row)]
    # (The transfer was asked for while its reply was still being generated, so it may
    # sit just before or after that reply; the second conversation comes after both.)
    assert sorted(order[:2]) == ["Putting you through.", "tool transfer_call"]
    assert order[2:] == ["Nobody answered: can I take a message?"]
    first, back = row.turns
    assert back.start_ms > first.end_ms
