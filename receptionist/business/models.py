"""The business YAML schema: one frozen pydantic model tree per business file.

Unknown fields are errors (a typo must never silently drop a setting); every value the
call flow relies on is checked here, at load time, not mid-call."""

from __future__ import annotations

import datetime as dt
import re
from difflib import get_close_matches
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)

from receptionist.business.callbacks import Callbacks
from receptionist.business.keypad import DEFAULT_KEYPAD, KeyAction, check_keypad
from receptionist.business.model_choice import ModelChoice
from receptionist.business.names import department_key
from receptionist.business.notifications import Notifications, check_addresses
from receptionist.business.phone import E164_RE, normalize_did
from receptionist.business.retention_config import Retention

SLUG_RE = re.compile(r"^[a-z0-9_-]+$")
_TIME_RE = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
# Dial targets end up in a dialplan Dial(); nothing here may carry ',', '&', '(' or '$'.
_EXTENSION_RE = re.compile(r"^(?:(PJSIP|SIP|IAX2)/)?([A-Za-z0-9_.-]{1,40})$")
# A dialplan target such as FreePBX's Local/201@ext-local, Local/600@ext-group or
# Local/400@ext-queues: reaches extensions, ring groups and queues, never the trunks.
# Only these contexts: from-internal and friends can dial out through the trunks.
_LOCAL_RE = re.compile(r"^Local/[A-Za-z0-9_.+-]{1,40}@(ext-local|ext-group|ext-queues)$")
_TRUNK_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _minutes(value: str, *, allow_24: bool) -> int:
    if allow_24 and value == "24:00":
        return 24 * 60
    match = _TIME_RE.match(value)
    if not match:
        raise ValueError(
            f"bad time '{value}': use 24-hour HH:MM, e.g. 08:30 or 17:00 (quote times like '08:00')"
        )
    return int(match.group(1)) * 60 + int(match.group(2))


class Span(_Model):
    """One opening interval; close before open means it runs past midnight."""

    open: str
    close: str

    @field_validator("open")
    @classmethod
    def _check_open(cls, value: str) -> str:
        _minutes(value, allow_24=False)
        return value

    @field_validator("close")
    @classmethod
    def _check_close(cls, value: str) -> str:
        _minutes(value, allow_24=True)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Span:
        if self.open_minute == self.close_minute:
            raise ValueError(
                f"open and close are both {self.open}; for all day write 00:00 to 24:00"
            )
        return self

    @property
    def open_minute(self) -> int:
        return _minutes(self.open, allow_24=False)

    @property
    def close_minute(self) -> int:
        return _minutes(self.close, allow_24=True)

    @property
    def overnight(self) -> bool:
        return self.close_minute <= self.open_minute


class Closure(_Model):
    # `dt.date`: the field's name would shadow a bare `date` type in this class body.
    date: dt.date
    until: dt.date | None = None  # inclusive last day of a multi-day closure
    name: str = "Closed"

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.until is not None and self.until < self.date:
            raise ValueError(f"until ({self.until}) is before date ({self.date})")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.date <= day <= (self.until or self.date)


class WeeklyHours(_Model):
    monday: tuple[Span, ...] = ()
    tuesday: tuple[Span, ...] = ()
    wednesday: tuple[Span, ...] = ()
    thursday: tuple[Span, ...] = ()
    friday: tuple[Span, ...] = ()
    saturday: tuple[Span, ...] = ()
    sunday: tuple[Span, ...] = ()
    closures: tuple[Closure, ...] = ()
    after_hours_message: str | None = None

    @field_validator(*_DAYS, mode="before")
    @classmethod
    def _day_forms(cls, value: Any) -> Any:
        # Accept `closed`, one {open, close} mapping, or a list of them (lunch breaks).
        if isinstance(value, str) and value.strip().lower() == "closed":
            return ()
        if isinstance(value, dict):
            return (value,)
        if isinstance(value, str):
            raise ValueError(f"expected 'closed' or {{open: HH:MM, close: HH:MM}}, got '{value}'")
        return value

    @field_validator(*_DAYS)
    @classmethod
    def _no_overlap(cls, spans: tuple[Span, ...]) -> tuple[Span, ...]:
        ordered = sorted(spans, key=lambda s: s.open_minute)
        for before, after in pairwise(ordered):
            end = before.close_minute if not before.overnight else 24 * 60
            if after.open_minute < end:
                raise ValueError(
                    f"{before.open}-{before.close} overlaps {after.open}-{after.close}"
                )
        return tuple(ordered)

    def day(self, weekday: int) -> tuple[Span, ...]:
        """Spans for a weekday number (Monday = 0, as datetime.weekday())."""
        spans: tuple[Span, ...] = getattr(self, _DAYS[weekday])
        return spans


class BusinessInfo(_Model):
    name: str = Field(min_length=1, max_length=120)
    type: str = "business"
    timezone: str
    country_code: str = Field("1", pattern=r"^[1-9][0-9]{0,2}$")
    address: str | None = None
    phone: str | None = None
    website: str | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = get_close_matches(value, _timezones(), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ValueError(
                f"unknown IANA timezone '{value}'{suggestion}; use a name like America/New_York"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def _timezones() -> list[str]:
    return sorted(available_timezones())


class Voice(_Model):
    voice: str = Field("marin", pattern=r"^[A-Za-z0-9_-]+$")
    model: str = Field("gpt-realtime", min_length=1)


class Department(_Model):
    name: str = Field(min_length=1, max_length=60)
    description: str = ""
    extension: str | None = None  # a phone on this PBX: "201" or "PJSIP/201"
    number: str | None = None  # an outside number, E.164 only, dialed through `trunk`
    trunk: str | None = None
    hours: WeeklyHours | None = None  # own hours; None = the business's hours
    aliases: tuple[str, ...] = ()
    # warm: the caller holds while staff hear who is calling and press 1 (take) or 2.
    mode: Literal["blind", "warm"] = "blind"
    mailbox: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{1,20}(@[A-Za-z0-9_-]{1,40})?$")

    @field_validator("extension")
    @classmethod
    def _check_extension(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _LOCAL_RE.match(value):
            return value
        match = _EXTENSION_RE.match(value)
        if not match:
            raise ValueError(
                f"'{value}' is not a desk-phone target; use an extension like 201 or "
                "PJSIP/201 (FreePBX: Local/201@ext-local, @ext-group or @ext-queues)"
            )
        return f"{match.group(1) or 'PJSIP'}/{match.group(2)}"

    @field_validator("number")
    @classmethod
    def _check_number(cls, value: str | None) -> str | None:
        if value is not None and not E164_RE.match(value):
            raise ValueError(
                f"'{value}' is not an E.164 number; write it like +15551234567 (quoted)"
            )
        return value

    @field_validator("trunk")
    @classmethod
    def _check_trunk(cls, value: str | None) -> str | None:
        if value is not None and not _TRUNK_RE.match(value):
            raise ValueError(f"'{value}' is not a trunk (PJSIP endpoint) name")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Department:
        if (self.extension is None) == (self.number is None):
            raise ValueError("set exactly one of extension (desk phone) or number (outside line)")
        if self.number is not None and self.trunk is None:
            raise ValueError("an outside number needs trunk: the PJSIP endpoint to dial it through")
        if self.extension is not None and self.trunk is not None:
            raise ValueError("trunk only applies to an outside number")
        return self

    @property
    def dial_string(self) -> str:
        """What the transfer context passes to Dial()."""
        if self.extension is not None:
            return self.extension
        return f"PJSIP/{self.number}@{self.trunk}"

    @property
    def device(self) -> str | None:
        """The endpoint to check before ringing (e.g. PJSIP/201); None when there is no
        single phone to ask about (outside numbers, Local/ dialplan targets)."""
        if self.extension is None or self.extension.startswith("Local/"):
            return None
        return self.extension


class Routing(_Model):
    departments: tuple[Department, ...] = ()
    max_transfers: int = Field(2, ge=0, le=10)  # per call; transfers are a toll-fraud surface
    # What a caller hears while a department rings: this Asterisk MOH class, or ringback.
    hold_music: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    warm_ring_seconds: int = Field(20, ge=5, le=120)  # a warm transfer's staff phone rings

    @field_validator("departments")
    @classmethod
    def _unique(cls, departments: tuple[Department, ...]) -> tuple[Department, ...]:
        seen: dict[str, int] = {}
        for index, dept in enumerate(departments):
            for label in (dept.name, *dept.aliases):
                key = department_key(label)
                if key in seen and seen[key] != index:
                    raise ValueError(
                        f"duplicate department '{label}': departments[{index}] "
                        f"and departments[{seen[key]}] have the same name"
                    )
                seen[key] = index
        return departments


class FAQEntry(_Model):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()


class WebhookDelivery(_Model):
    url: HttpUrl
    secret: SecretStr | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=60)


class EmailDelivery(_Model):
    to: tuple[str, ...] = Field(min_length=1)
    sender: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None

    @field_validator("to", "sender")
    @classmethod
    def _check_addresses(cls, value: Any) -> Any:
        return check_addresses(value)


class MessageDelivery(_Model):
    """Messages always go to SQLite. webhook/email here are the older form of
    notifications.channels and are sent as channels for message.taken."""

    max_length: int = Field(1000, ge=50, le=10000)
    webhook: WebhookDelivery | None = None
    email: EmailDelivery | None = None


class Recording(_Model):
    enabled: bool = False
    consent_text: str = "This call may be recorded for quality and training purposes."
    retention_days: int = Field(90, ge=1, le=3650)
    # full: one file from consent to hang-up, transfers included (MixMonitor, see
    # recording.py); bridge: only the talk with the receptionist (ARI bridge recording).
    mode: Literal["full", "bridge"] = "full"

    @model_validator(mode="after")
    def _consent(self) -> Recording:
        if self.enabled and not self.consent_text:
            raise ValueError("recording is enabled, so consent_text must not be empty")
        return self


class Calendar(_Model):
    """Appointment booking in a Google Calendar, through a service account."""

    calendar_id: str = Field(min_length=1)  # e.g. frontdesk@example.com, shared with the account
    credentials_file: str = Field(min_length=1)  # the service account's JSON key file
    appointment_minutes: int = Field(30, ge=5, le=240)
    booking_days_ahead: int = Field(14, ge=1, le=90)
    # Add the caller's email (when given) as an attendee, so Google emails an invitation.
    # A service account may only invite with Workspace domain-wide delegation.
    invite_callers: bool = False
    # Root URL to use instead of Google's (a proxy, or a test server), like https://host/.
    api_endpoint: HttpUrl | None = None


class Business(_Model):
    slug: str = Field(pattern=SLUG_RE.pattern)
    business: BusinessInfo
    voice: Voice = Voice()
    model: ModelChoice | None = None  # None: the service's default (docs/models.md)
    hours: WeeklyHours
    greeting: str = Field(min_length=1)
    personality: str = "Warm, calm and professional. Friendly but brief, like a good front desk."
    languages: tuple[str, ...] = Field(("English",), min_length=1)
    routing: Routing = Routing()
    faq: tuple[FAQEntry, ...] = ()
    messages: MessageDelivery = MessageDelivery()
    notifications: Notifications = Notifications()  # webhooks and email for events
    recording: Recording = Recording()
    retention: Retention = Retention()
    calendar: Calendar | None = None  # None: no booking tools are offered
    callbacks: Callbacks | None = None  # None: no "Call back" button on the web page
    dids: tuple[str, ...] = ()
    keypad: dict[str, KeyAction] = Field(default_factory=lambda: dict(DEFAULT_KEYPAD))

    @model_validator(mode="after")
    def _check_keypad(self) -> Business:
        check_keypad(self.keypad, self.routing.departments)
        return self

    @model_validator(mode="before")
    @classmethod
    def _default_greeting(cls, data: Any) -> Any:
        if isinstance(data, dict) and "greeting" not in data:
            info = data.get("business")
            name = info.get("name") if isinstance(info, dict) else None
            if isinstance(name, str) and name:
                data = {**data, "greeting": f"Thank you for calling {name}. How can I help you?"}
        return data

    @field_validator("dids")
    @classmethod
    def _check_dids(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        normalized = tuple(normalize_did(v) for v in values)
        duplicates = sorted({d for d in normalized if normalized.count(d) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return normalized

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if len({v.casefold() for v in values}) != len(values):
            raise ValueError("a language is listed more than once")
        return values

    @property
    def tz(self) -> ZoneInfo:
        return self.business.tz
