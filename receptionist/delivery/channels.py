"""The channels a business sends its events to, the older `messages.*` form included."""

from __future__ import annotations

from pydantic import SecretStr, model_validator

from receptionist.business.models import Business
from receptionist.business.notifications import (
    EmailChannel,
    SecretSource,
    WebhookChannel,
)

AnyChannel = WebhookChannel | EmailChannel


class InlineSecret(SecretSource):
    """A secret given in the YAML by the older `messages.*` form (usually as ${VAR})."""

    value: SecretStr

    @model_validator(mode="after")
    def _one(self) -> InlineSecret:  # overrides SecretSource's: neither env nor file
        return self

    def read(self) -> str:
        return self.value.get_secret_value()


def channels_for(business: Business) -> tuple[AnyChannel, ...]:
    """Every channel of the business, by name: notifications.channels, then messages.*."""
    channels: list[AnyChannel] = list(business.notifications.channels)
    legacy = business.messages
    # Built without validation: the older models validated these values already, and
    # their inline secret has neither env nor file.
    if legacy.webhook is not None:
        hook = legacy.webhook
        secret = InlineSecret(value=hook.secret) if hook.secret is not None else None
        channels.append(
            WebhookChannel.model_construct(name="messages-webhook", url=hook.url,
                           timeout_seconds=hook.timeout_seconds, secret=secret)
        )  # fmt: skip
    if legacy.email is not None:
        mail = legacy.email
        password = InlineSecret(value=mail.password) if mail.password is not None else None
        channels.append(
            EmailChannel.model_construct(name="messages-email", to=mail.to, sender=mail.sender,
                         smtp_host=mail.smtp_host, smtp_port=mail.smtp_port,
                         security="starttls" if mail.starttls else "none",
                         username=mail.username, password=password)
        )  # fmt: skip
    return tuple(channels)


def channel_named(business: Business, name: str) -> AnyChannel | None:
    return next((c for c in channels_for(business) if c.name == name), None)
