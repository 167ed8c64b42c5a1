"""Phone numbers: normalise what a caller said into E.164, or say why it is not a number.

Only the rules a receptionist needs: North American Numbering Plan checks for
country code 1, length checks (E.164: at most 15 digits) for the rest. The
reasons are phrased so the model can read them back to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")

_EXTENSION_RE = re.compile(r"\s*(?:,|;|#|x|ext\.?|extension)\s*([0-9]{1,6})\s*$", re.IGNORECASE)
_ALLOWED_RE = re.compile(r"^[0-9+()\-.\s/]+$")


class InvalidPhoneNumber(ValueError):
    """The number cannot be used; str(error) is a reason fit to read to the caller."""


@dataclass(frozen=True)
class PhoneNumber:
    e164: str
    extension: str | None = None

    def __str__(self) -> str:
        return f"{self.e164} ext. {self.extension}" if self.extension else self.e164

    def spoken(self) -> str:
        """Digit by digit, the way a receptionist reads a number back."""
        digits = self.e164.lstrip("+")
        if digits.startswith("1") and len(digits) == 11:
            # North America: area code, exchange, line, as callers say them.
            digits = ", ".join(" ".join(g) for g in (digits[1:4], digits[4:7], digits[7:]))
        else:
            digits = "plus " + " ".join(digits)
        if self.extension:
            digits += ", extension " + " ".join(self.extension)
        return digits


def normalize_phone(raw: str, country_code: str = "1") -> PhoneNumber:
    """Parse a callback number as spoken/typed, e.g. "(212) 555-0123 ext 4" or "+44 20 7946 0958".

    `country_code` is the business's own calling code, used when the caller
    gives a national number without one.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("no phone number was given")
    extension = None
    match = _EXTENSION_RE.search(text)
    if match and len(re.sub(r"\D", "", text[: match.start()])) >= 7:
        extension = match.group(1)
        text = text[: match.start()]
    if not _ALLOWED_RE.match(text):
        raise InvalidPhoneNumber(
            "the number contains letters or symbols; I need digits only, like 212 555 0123"
        )
    international = text.lstrip().startswith("+") or text.lstrip().startswith("00")
    digits = re.sub(r"\D", "", text)
    if text.lstrip().startswith("00"):
        digits = digits[2:]
    elif not international and country_code == "1" and len(digits) == 11 and digits[0] == "1":
        international = True  # "1 212 555 0123": the NANP trunk prefix is the country code
    elif not international and country_code != "1" and digits.startswith("0"):
        digits = digits[1:]  # national trunk prefix, e.g. 020 in the UK

    if international:
        full = digits
    else:
        full = country_code + digits
        if country_code == "1" and len(digits) != 10:
            raise InvalidPhoneNumber(_nanp_length_reason(len(digits)))
    if full.startswith("1"):
        _check_nanp(full[1:])
    if not 8 <= len(full) <= 15:
        raise InvalidPhoneNumber(
            f"the number has {len(full)} digits including the country code; "
            "a phone number has between 8 and 15"
        )
    if full[0] == "0":
        raise InvalidPhoneNumber("a country code cannot start with 0")
    return PhoneNumber("+" + full, extension)


def _nanp_length_reason(count: int) -> str:
    if count == 7:
        return "the number has only 7 digits; I also need the 3-digit area code"
    return f"the number has {count} digits, but a US or Canadian number has 10 (area code first)"


def _check_nanp(national: str) -> None:
    if len(national) != 10:
        raise InvalidPhoneNumber(_nanp_length_reason(len(national)))
    area, exchange = national[:3], national[3:6]
    if area[0] in "01":
        raise InvalidPhoneNumber(f"the area code {area} is not valid: it cannot start with 0 or 1")
    if area[1:] == "11":
        raise InvalidPhoneNumber(f"{area} is a service code, not an area code")
    if exchange[0] in "01":
        raise InvalidPhoneNumber(
            f"the digits after the area code ({exchange}) cannot start with 0 or 1"
        )


def normalize_did(raw: str) -> str:
    """A dialed number as digits with an optional leading +; formatting characters dropped."""
    text = re.sub(r"[\s\-().]", "", raw)
    if not re.fullmatch(r"\+?[0-9]{2,15}", text):
        raise ValueError(f"'{raw}' is not a dialed number (digits, optionally starting with +)")
    return text


def did_matches(configured: str, dialed: str) -> bool:
    """Whether a dialed number reaches a configured DID.

    Trunks present the same number differently (+15555550100, 15555550100,
    5555550100), so numbers of 10+ digits match on their last 10 digits;
    shorter ones (internal extensions) must match exactly.
    """
    a = configured.lstrip("+")
    b = re.sub(r"[^0-9]", "", dialed)
    if not b:
        return False
    if len(a) >= 10 and len(b) >= 10:
        return a[-10:] == b[-10:]
    return a == b
