"""Calendar booking during a live call: sandbox Asterisk, fake model, fake Google Calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from tests.fakes.google_calendar import FakeGoogleCalendar, write_key_file
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.live import function_outputs, live_call

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
