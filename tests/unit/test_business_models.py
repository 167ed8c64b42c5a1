"""Business models: the shipped example, defaults, departments, DIDs, YAML and ${VAR} handling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from receptionist.business import (
    Business,
    business_for_did,
    find_department,
    load_business,
    load_businesses,
)
from receptionist.business.loader import interpolate
from tests.unit.conftest import EXAMPLE


def test_example_dental_matches_the_issue(dental: Business) -> None:
    assert dental.slug == "example-dental"
    assert dental.business.name == "Example Dental Office"
    assert dental.business.timezone == "America/New_York"
    assert [d.name for d in dental.routing.departments] == ["Front Desk", "Billing"]
    assert dental.hours.monday[0].open == "08:00" and dental.hours.thursday[0].close == "17:00"
    assert dental.hours.friday[0].close == "15:00"
    assert dental.hours.saturday == () and dental.hours.sunday == ()
    questions = " ".join(e.question.lower() for e in dental.faq)
    assert "insurance" in questions and "hours" in questions
    assert dental.voice.voice == "marin" and dental.voice.model == "gpt-realtime"
    assert dental.recording.enabled is False and dental.recording.retention_days == 90


def test_defaults(make_business: Callable[[str], Business]) -> None:
    b = make_business('hours: {monday: {open: "08:00", close: "17:00"}}')
    assert b.greeting == "Thank you for calling Test Co. How can I help you?"
    assert b.voice.voice == "marin"
    assert b.languages == ("English",)
    assert b.routing.departments == () and b.faq == () and b.dids == ()
    assert b.messages.webhook is None and b.messages.email is None
    assert b.hours.tuesday == ()  # an unlisted day is closed


def test_unquoted_times_are_not_base_60_numbers(make_business: Callable[[str], Business]) -> None:
    # YAML 1.1 reads 17:00 as the integer 1020; business files must not care about quoting.
    b = make_business("hours: {monday: {open: 8:30, close: 17:00}}\nlanguages: [no, English]")
    span = b.hours.monday[0]
    assert (span.open_minute, span.close_minute) == (8 * 60 + 30, 17 * 60)
    assert b.languages == ("no", "English")  # Norwegian, not False


def test_departments_desk_phone_and_outside_number(
    make_business: Callable[[str], Business],
) -> None:
    b = make_business(
        """
        hours: {monday: {open: "08:00", close: "17:00"}}
        routing:
          departments:
            - {name: Front Desk, extension: "201"}
            - {name: Lab, extension: PJSIP/lab-1}
            - {name: After Hours Line, number: "+15551234567", trunk: my_trunk}
        """
    )
    desk, lab, outside = b.routing.departments
    assert (desk.dial_string, desk.device) == ("PJSIP/201", "PJSIP/201")
    assert (lab.dial_string, lab.device) == ("PJSIP/lab-1", "PJSIP/lab-1")
    assert outside.dial_string == "PJSIP/+15551234567@my_trunk"
    assert outside.device is None


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("Billing", "Billing"),
        ("billing department", "Billing"),
        ("the Billing Dept.", "Billing"),
        ("BILLING", "Billing"),
        ("front-desk", "Front Desk"),
        ("reception", "Front Desk"),  # alias
        ("billng", "Billing"),  # transcription slip
        ("Radiology", None),
        ("", None),
    ],
)
def test_find_department(dental: Business, spoken: str, expected: str | None) -> None:
    found = find_department(dental, spoken)
    assert (found.name if found else None) == expected


def test_dids_normalised_and_matched(make_business: Callable[[str], Business]) -> None:
    b = make_business('hours: {}\ndids: ["+1 (555) 555-0100", "100"]')
    assert b.dids == ("+15555550100", "100")
    for dialed in ("+15555550100", "15555550100", "5555550100"):
        assert business_for_did([b], dialed) is b
    assert business_for_did({"x": b}, "100") is b
    assert business_for_did([b], "1000") is None
    assert business_for_did([b], "5555550199") is None


def test_load_businesses_keys_by_slug(tmp_path: Path) -> None:
    (tmp_path / "example-dental.yaml").write_text(EXAMPLE.read_text())
    (tmp_path / "notes.txt").write_text("not a business")
    businesses = load_businesses(tmp_path, env={})
    assert list(businesses) == ["example-dental"]


def test_env_interpolation(write_yaml: Callable[..., Path]) -> None:
    data, missing = interpolate(
        {"a": "${X}", "b": ["${Y:-fallback}", "cost $$5", "${X}-${X}"], "c": 3}, {"X": "x"}
    )
    assert data == {"a": "x", "b": ["fallback", "cost $5", "x-x"], "c": 3}
    assert missing == []
    path = write_yaml(
        """
        business: {name: "${NAME}", timezone: America/Chicago}
        hours: {}
        """
    )
    assert load_business(path, env={"NAME": "Acme"}).business.name == "Acme"


def test_env_value_cannot_inject_yaml(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("business: {name: '${NAME}', timezone: UTC}\nhours: {}\n")
    b = load_business(path, env={"NAME": "x\ngreeting: hacked"})
    assert b.business.name == "x\ngreeting: hacked"
    assert b.greeting.startswith("Thank you for calling x")
