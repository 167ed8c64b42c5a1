"""The system prompt: identity, open/closed now in the business timezone, departments, rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from receptionist.business import Business, build_instructions


def test_prompt_when_open(dental: Business) -> None:
    # 14:00 UTC on Monday 2026-11-30 is 9 AM in New York.
    text = build_instructions(dental, datetime(2026, 11, 30, 14, 0, tzinfo=UTC))
    assert "Example Dental Office, a dental office" in text
    assert "Monday, November 30, 2026, 9 AM" in text
    assert "America/New_York" in text
    assert "Open now, until 5 PM today." in text
    assert "Monday to Thursday: 8 AM to 5 PM" in text and "Friday: 8 AM to 3 PM" in text
    assert "Saturday and Sunday: closed" in text
    assert "- Front Desk: appointments" in text and "- Billing:" in text
    assert "Do you accept insurance?" in text and "Delta Dental" in text
    assert "Christmas" in text  # upcoming closure
    assert "English or Spanish" in text
    assert "digit by digit" in text and "confirm" in text and "Never invent" in text
    assert dental.greeting in text
    assert "After hours" not in text and "Tell callers after hours" not in text


def test_prompt_when_closed_uses_after_hours_message(dental: Business) -> None:
    text = build_instructions(dental, datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # Saturday
    assert "Closed now. Opens again Monday at 8 AM." in text
    assert "Tell callers after hours: We're closed right now" in text


def test_prompt_without_departments_or_faq(make_business: Callable[[str], Business]) -> None:
    b = make_business(
        'hours: {monday: {open: "08:00", close: "17:00"}}\n'
        "recording: {enabled: true, consent_text: Calls are recorded.}\n"
    )
    text = build_instructions(b, datetime(2026, 11, 30, 14, 0, tzinfo=UTC))
    assert "no departments to transfer to" in text
    assert "Frequently asked" not in text
    assert "Speak only English." in text
    assert '"Calls are recorded."' in text


def test_prompt_needs_an_aware_time(dental: Business) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_instructions(dental, datetime(2026, 11, 30, 9, 0))
