"""The fake Google Calendar and a business booking through it, shared by the calendar tests
(imported into conftest.py so every unit test can ask for these fixtures)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from receptionist.business import Business
from receptionist.tools.call_tools import CallTools, ToolOutcome
from tests.fakes.google_calendar import FakeGoogleCalendar, write_key_file

MONDAY_10AM = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 10 AM in New York
CAL = "frontdesk@example.com"
EMAIL = "receptionist@test-project.iam.gserviceaccount.com"
CALL = "call-1"
HOURS = """
hours:
  monday: {open: "08:00", close: "17:00"}
  tuesday: {open: "08:00", close: "17:00"}
  wednesday: {open: "08:00", close: "17:00"}
  thursday: {open: "08:00", close: "17:00"}
  closures: [{date: 2026-12-03, name: Staff day}]
"""


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 (or November 30) New York wall time as a UTC instant (UTC-5)."""
    month = 11 if day == 30 else 12
    return datetime(2026, month, day, hour + 5, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def fake(key: rsa.RSAPrivateKey) -> AsyncIterator[FakeGoogleCalendar]:
    busy = {CAL: [(ny(1, 9), ny(1, 10, 15))]}  # Tuesday 9:00-10:15 is taken
    async with FakeGoogleCalendar(EMAIL, key.public_key(), busy) as server:
        yield server


@pytest.fixture
def booking_business(
    fake: FakeGoogleCalendar,
    key: rsa.RSAPrivateKey,
    tmp_path: Path,
    make_business: Callable[[str], Business],
) -> Business:
    key_file = write_key_file(tmp_path / "sa.json", key, fake.token_uri, EMAIL)
    return make_business(
        HOURS + f"calendar:\n  calendar_id: {CAL}\n  credentials_file: {key_file}\n"
        f"  api_endpoint: {fake.url}\n"
    )


async def told(tools: CallTools, outcome: ToolOutcome, heard: bool = True) -> ToolOutcome:
    """What the conversation does with a tool's result: settle it (`heard`: it reached a
    live call's model), then wait for the calendar work that follows."""
    if outcome.settle is not None:
        outcome.settle(heard)
    if tools._booking is not None:
        await tools._booking.drain()
    return outcome
