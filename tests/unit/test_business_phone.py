"""Callback numbers: normalised to E.164, or rejected with a reason the model can read out."""

from __future__ import annotations

import pytest

from receptionist.business import InvalidPhoneNumber, normalize_phone
from receptionist.business.phone import did_matches, normalize_did


@pytest.mark.parametrize(
    ("raw", "e164", "extension"),
    [
        ("(212) 555-0123", "+12125550123", None),
        ("212.555.0123", "+12125550123", None),
        ("1 212 555 0123", "+12125550123", None),
        ("+1 212 555 0123", "+12125550123", None),
        ("2125550123 ext 45", "+12125550123", "45"),
        ("212-555-0123 x7", "+12125550123", "7"),
        ("+44 20 7946 0958", "+442079460958", None),
        ("0044 20 7946 0958", "+442079460958", None),
    ],
)
def test_valid_numbers(raw: str, e164: str, extension: str | None) -> None:
    number = normalize_phone(raw)
    assert (number.e164, number.extension) == (e164, extension)


def test_national_number_outside_north_america() -> None:
    assert normalize_phone("020 7946 0958", country_code="44").e164 == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("555-0123", "only 7 digits; I also need the 3-digit area code"),
        ("012 555 0123", "area code 012 is not valid"),
        ("911 555 0123", "911 is a service code"),
        ("212 055 0123", "cannot start with 0 or 1"),
        ("call me at home", "letters"),
        ("212 555 01234 5", "has 12 digits"),
        ("", "no phone number"),
        ("+49 1234", "has 6 digits including the country code"),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone(raw)
    assert reason in str(caught.value)


def test_spoken_forms() -> None:
    assert normalize_phone("212 555 0123").spoken() == "2 1 2, 5 5 5, 0 1 2 3"
    assert normalize_phone("212 555 0123 ext 9").spoken().endswith("extension 9")
    assert normalize_phone("+44 20 7946 0958").spoken().startswith("plus 4 4 2 0")


def test_dids() -> None:
    assert normalize_did("+1 (555) 555-0100") == "+15555550100"
    with pytest.raises(ValueError, match="not a dialed number"):
        normalize_did("sip:100@host")
    assert did_matches("+15555550100", "5555550100")
    assert did_matches("100", "100") and not did_matches("100", "1000")
    assert not did_matches("100", "")
