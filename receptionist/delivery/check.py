"""`config check` for notification channels: secrets readable, risky hosts, events sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from receptionist.business.models import Business
from receptionist.business.notifications import SecretSource, WebhookChannel
from receptionist.delivery.channels import InlineSecret, channels_for


@dataclass
class ChannelReport:
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field path, reason)
    warnings: list[str] = field(default_factory=list)
    sends: list[str] = field(default_factory=list)  # "name (kind): event, event"


def check_channels(business: Business) -> ChannelReport:
    report = ChannelReport()
    own = {c.name for c in business.notifications.channels}
    for index, channel in enumerate(channels_for(business)):
        where = f"notifications.channels[{index}]" if channel.name in own else "messages"
        label = f"{business.slug}: channel {channel.name}"
        secret: SecretSource | None
        if isinstance(channel, WebhookChannel):
            kind = f"webhook, {channel.format}"
            secret, secret_field = channel.secret, "secret"
            reason = channel.private_host()
            if reason:
                report.warnings.append(
                    f"{label} posts to a {reason} address ({channel.url.host}): allowed as "
                    "configured, but check it is meant (server-side request forgery)"
                )
            elif channel.url.scheme == "http":
                report.warnings.append(f"{label} sends over plain http; use https")
            if channel.format == "json" and channel.secret is None:
                report.warnings.append(f"{label} is not signed: set secret: {{env: NAME}}")
        else:
            kind = f"email to {', '.join(channel.to)}"
            secret, secret_field = channel.password, "password"
            if channel.security == "none" and channel.password is not None:
                report.warnings.append(f"{label} sends its SMTP password without TLS")
        if isinstance(secret, InlineSecret):
            report.warnings.append(
                f"{label}: messages.webhook/messages.email are the older form; move them to "
                "notifications.channels with secrets from {env: NAME} or {file: PATH}"
            )
        elif secret is not None:
            try:
                secret.read()
            except LookupError as exc:
                report.errors.append((f"{where}.{secret_field}", str(exc)))
        report.sends.append(f"{channel.name} ({kind}): {', '.join(channel.events)}")
    return report
