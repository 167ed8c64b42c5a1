"""Calendar booking during a live call: sandbox Asterisk, fake model, fake Google Calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from tests.fakes.google_calendar import FakeGoogleCalendar, write_key_file
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import eventually
from tests.integration.live import Live, function_outputs, has_tone, live_call, tone_spans

pytestmark = pytest.mark.integration

EMAIL = "receptionist@test-project.iam.gserviceaccount.com"
CALENDAR = "frontdesk@example.com"


async def test_caller_books_an_appointment_that_lands_in_the_calendar(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tomorrow = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    start = f"{tomorrow.isoformat()}T10:00"
    booking = {
        "caller_name": "Ann Lee",
        "callback_number": "555-234-5678",
        "start": start,
        "reason": "cleaning",
    }
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Let me check.", calls=(
                ToolCall("check_availability", {"date": tomorrow.isoformat()}),
                ToolCall("book_appointment", booking),
            )),
        ]
    )  # fmt: skip
    # The service account can see this one calendar (nothing booked on it yet).
    async with FakeGoogleCalendar(EMAIL, key.public_key(), busy={CALENDAR: []}) as calendar:
        key_file = write_key_file(tmp_path / "sa.json", key, calendar.token_uri, EMAIL)
        config = {
            "calendar_id": CALENDAR,
            "credentials_file": str(key_file),
            "api_endpoint": calendar.url,
        }
        async with live_call(ari, sandbox, tmp_path, script, calendar=config) as (live, _, call):
            outputs = [out for _, out in await function_outputs(live, 2)]
            assert outputs[0].startswith("Free on"), outputs[0]
            assert outputs[1].startswith("Booked Ann Lee on") and "at 10 AM" in outputs[1]
            [event] = calendar.events[CALENDAR]
            assert event["summary"] == "Appointment: Ann Lee"
            assert event["start"]["dateTime"].startswith(start)
            assert event["start"]["timeZone"] == "America/New_York"
            [row] = live.store.list_bookings()
            assert row["call_id"] == call.dialplan_id
            assert row["callback_number"] == "+15552345678"
            record = live.store.get_call(call.dialplan_id)
            assert record is not None and "appointment_booked" in record.outcomes
            await ari.hangup(call.dialplan_id)


def _setup(tmp_path: Path, calendar: FakeGoogleCalendar, key: rsa.RSAPrivateKey,
           invite: bool = False) -> dict[str, object]:  # fmt: skip
    key_file = write_key_file(tmp_path / "sa.json", key, calendar.token_uri, EMAIL)
    return {"calendar_id": CALENDAR, "credentials_file": str(key_file),
            "api_endpoint": calendar.url, "invite_callers": invite}  # fmt: skip


def _booking_script(email: str = "", audio: bytes = b"", *after: Reply) -> tuple[Script, str]:
    """The model checks tomorrow at 10 and books it, saying nothing itself (`audio`: or
    something), then `after` are its replies about the results."""
    tomorrow = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    booking = {"caller_name": "Ann Lee", "callback_number": "555-234-5678",
               "start": f"{tomorrow.isoformat()}T10:00", "caller_email": email}  # fmt: skip
    calls = (ToolCall("check_availability", {"date": tomorrow.isoformat()}),
             ToolCall("book_appointment", booking))  # fmt: skip
    return Script(replies=[Reply(audio, "Let me check." if audio else "", calls), *after]), email


def _tool_rows(live: Live, call_id: str) -> dict[str, str]:
    record = live.store.get_call(call_id)
    assert record is not None
    return {tool.name: tool.result for tool in record.tool_calls}


@pytest.mark.parametrize("calendar_is", ["slow_6s", "hung"])
async def test_a_slow_or_hung_calendar_insert_is_heard_as_unreachable_and_leaves_nothing(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, calendar_is: str,
    report: dict[str, object],
) -> None:  # fmt: skip
    """The insert stores the event, then answers after 6 s (or never). The caller hears the
    filler while waiting, then the model saying the calendar cannot be reached: never the
    fallback; and the calendar keeps no event the call has no booking row for."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    script, _ = _booking_script("ann@example.com", b"", Reply(tone24(700, 0.6), "Sorry."))
    async with FakeGoogleCalendar(EMAIL, key.public_key(), busy={CALENDAR: []}) as calendar:
        calendar.insert_delay = 6.0
        calendar.hang_inserts = calendar_is == "hung"
        config = _setup(tmp_path, calendar, key, invite=True)
        async with live_call(ari, sandbox, tmp_path, script, calendar=config) as (live, _, call):
            peer = call.peer
            assert peer is not None
            live.fake.wait_timeout_s = 20
            outputs = await function_outputs(live, 2)
            assert outputs[0][1].startswith("Free on"), outputs[0]
            assert outputs[1][0] == "book_appointment"
            assert "calendar cannot be reached" in outputs[1][1], outputs[1]
            # The model's reply about it reaches the caller: the call goes on.
            end = await peer.wait_frames(has_tone(700), 10)
            heard = peer.audio()
            record = live.store.get_call(call.dialplan_id)
            assert record is not None and "fallback" not in record.outcomes, record.outcomes
            assert "appointment_booked" not in record.outcomes
            assert "cannot be reached" in _tool_rows(live, call.dialplan_id)["book_appointment"]
            tools = {t.name: t.duration_ms for t in record.tool_calls}
            report[f"booking_{calendar_is}_tool_ms"] = round(tools["book_appointment"])
            assert live.store.list_bookings() == []
            await ari.hangup(call.dialplan_id)
        # The insert was sent under our own id, then deleted: nothing in the calendar,
        # nothing invited (the insert invites nobody and says sendUpdates=none).
        [insert] = [r for r in calendar.requests if r.startswith("POST /calendar/v3/calendars")]
        assert "sendUpdates=none" in insert
        assert calendar.events[CALENDAR] == [] and len(calendar.deleted) == 1
        assert calendar.invites == []
    # No dead air while the calendar was slow: speech (the filler) before the reply.
    frames = tone_spans(heard[: end * 640], 16000, 700)
    loud = _loud(heard[: end * 640])
    filler = [i for i, (is_loud, tone) in enumerate(zip(loud, frames, strict=False))
              if is_loud and not tone]  # fmt: skip
    assert len(filler) >= 20, "the caller heard no filler while the calendar was slow"
    report[f"booking_{calendar_is}_filler_frames"] = len(filler)


def _loud(pcm: bytes, frame: int = 320) -> list[bool]:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return [bool(np.sqrt(np.mean(x[i : i + frame] ** 2)) > 300)
            for i in range(0, len(x) - frame + 1, frame)]  # fmt: skip


async def test_a_booking_the_caller_never_hears_about_is_undone(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    """The caller hangs up while the insert is on its way (it lands 2 s later): the booking
    is finished off, then undone: no event, no invitation; the tool row says it was cut."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    script, _ = _booking_script("ann@example.com", tone24(1000, 0.3))
    async with FakeGoogleCalendar(EMAIL, key.public_key(), busy={CALENDAR: []}) as calendar:
        calendar.insert_delay = 2.0
        config = _setup(tmp_path, calendar, key, invite=True)
        async with live_call(ari, sandbox, tmp_path, script, calendar=config) as (live, _, call):
            await eventually(lambda: bool(calendar.events.get(CALENDAR)))  # stored, not answered
            [event] = calendar.events[CALENDAR]
            [held] = live.store.list_bookings()  # the row came first, with the event's id
            assert (held["status"], held["event_id"]) == ("held", event["id"])
            await ari.hangup(call.dialplan_id)
            await eventually(lambda: calendar.deleted == [event["id"]])
            await eventually(lambda: live.store.list_bookings() == [])
            rows = _tool_rows(live, call.dialplan_id)
            assert rows["book_appointment"].startswith("(cut off"), rows
            record = live.store.get_call(call.dialplan_id)
            assert record is not None and "appointment_booked" not in record.outcomes
        assert calendar.events[CALENDAR] == [] and calendar.invites == []


async def test_the_invitation_goes_out_once_the_caller_is_told(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    script, email = _booking_script("ann@example.com", b"", Reply(tone24(700, 0.4), "Booked."))
    async with FakeGoogleCalendar(EMAIL, key.public_key(), busy={CALENDAR: []}) as calendar:
        config = _setup(tmp_path, calendar, key, invite=True)
        async with live_call(ari, sandbox, tmp_path, script, calendar=config) as (live, _, call):
            live.fake.wait_timeout_s = 20
            outputs = await function_outputs(live, 2)
            assert outputs[1][1].startswith("Booked Ann Lee"), outputs[1]
            await eventually(lambda: bool(calendar.invites))
            [event] = calendar.events[CALENDAR]
            assert calendar.invites == [(event["id"], email)]
            [row] = live.store.list_bookings()
            assert (row["status"], row["event_id"]) == ("booked", event["id"])
            assert _tool_rows(live, call.dialplan_id)["book_appointment"].startswith("Booked")
            await ari.hangup(call.dialplan_id)
