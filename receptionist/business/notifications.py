"""Where a business's events go: webhooks (JSON, Slack, Teams) and email, each for chosen events.

Secrets never sit in the YAML: a channel names the environment variable or the
file that holds its signing secret or SMTP password, read when a delivery is sent.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

EVENT_TYPES = ("message.taken", "call.ended", "appointment.booked", "transfer.missed")
EventType = Literal["message.taken", "call.ended", "appointment.booked", "transfer.missed"]
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME_RE = r"^[a-z0-9][a-z0-9_.-]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SecretSource(_Model):
    """A secret read from an environment variable or a file, never written in the YAML."""

    env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: Path | None = None

    @model_validator(mode="after")
    def _one(self) -> SecretSource:
        if (self.env is None) == (self.file is None):
            raise ValueError("set exactly one of env (a variable name) or file (a path)")
        return self

    def read(self) -> str:
        """The secret's value; LookupError saying where it was looked for (never its value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise LookupError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            value = self.file.read_text().strip()
        except OSError as exc:
            raise LookupError(f"cannot read {self.file}: {exc.strerror}") from None
        if not value:
            raise LookupError(f"{self.file} is empty")
        return value


class _Channel(_Model):
    name: str | None = Field(None, pattern=_NAME_RE)  # default: "<type>-<position>"
    events: tuple[EventType, ...] = Field(("message.taken",), min_length=1)
    timeout_seconds: float = Field(10.0, gt=0, le=120)


class WebhookChannel(_Channel):
    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    format: Literal["json", "slack", "teams"] = "json"
    secret: SecretSource | None = None  # HMAC-SHA256 signing secret (json format)

    @model_validator(mode="after")
    def _signing(self) -> WebhookChannel:
        if self.secret is not None and self.format != "json":
            raise ValueError("secret only applies to format: json (Slack and Teams sign nothing)")
        return self

    def private_host(self) -> str | None:
        """Why the URL's host is loopback/private/link-local (an SSRF risk), or None."""
        return private_reason(self.url.host or "")


class EmailChannel(_Channel):
    type: Literal["email"] = "email"
    to: tuple[str, ...] = Field(min_length=1)
    sender: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = Field(None, ge=1, le=65535)  # default: 465 for tls, else 587/25
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretSource | None = None
    ca_file: Path | None = None  # CA bundle for a server whose certificate a private CA signed

    @field_validator("to", "sender")
    @classmethod
    def _check_addresses(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        return check_addresses(value)

    @model_validator(mode="after")
    def _auth(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self

    @property
    def port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"tls": 465, "starttls": 587, "none": 25}[self.security]


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]


class Summary(_Model):
    """A one- or two-sentence call summary written by a text model (Chat Completions)."""

    model: str = Field(min_length=1)
    base_url: HttpUrl | None = None  # an OpenAI-compatible endpoint; default: OpenAI's
    api_key: SecretSource = SecretSource(env="OPENAI_API_KEY")
    timeout_seconds: float = Field(8.0, gt=0, le=60)


class Notifications(_Model):
    channels: tuple[Channel, ...] = ()
    summary: Summary | None = None  # None: summaries are built from outcomes and the message
    # A link to a call on your own web page, e.g. https://office.example.com/calls/{call_id}
    call_url: str | None = Field(None, pattern=r"^https?://")

    @field_validator("channels")
    @classmethod
    def _names(
        cls, channels: tuple[WebhookChannel | EmailChannel, ...]
    ) -> tuple[WebhookChannel | EmailChannel, ...]:
        named = tuple(
            c if c.name else c.model_copy(update={"name": f"{c.type}-{i + 1}"})
            for i, c in enumerate(channels)
        )
        names = [c.name for c in named]
        duplicates = sorted({n for n in names if n and names.count(n) > 1})
        if duplicates:
            raise ValueError(f"channel names must be unique: {', '.join(duplicates)}")
        return named


def check_addresses(value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    for address in (value,) if isinstance(value, str) else value:
        if not _EMAIL_RE.match(address):
            raise ValueError(f"'{address}' is not an email address")
    return value


def private_reason(host: str) -> str | None:
    """'loopback', 'private' or 'link-local' when `host` is (or resolves to) such an address."""
    try:
        addresses = {ipaddress.ip_address(host.strip("[]"))}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None  # unresolvable now; the delivery will fail and be retried
        addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    for address in addresses:
        for reason in ("loopback", "link_local", "private"):
            if getattr(address, f"is_{reason}"):
                return reason.replace("_", "-")
    return None
