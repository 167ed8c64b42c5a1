"""Webhook delivery: JSON (signed), Slack or Teams bodies over HTTP POST.

Signature (json format): `X-Receptionist-Signature: v1=<hex HMAC-SHA256>` of
`<X-Receptionist-Timestamp>.<raw body>`, so a receiver can check the body and
refuse an old timestamp (a replay). See docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from receptionist import __version__
from receptionist.business.notifications import WebhookChannel
from receptionist.delivery.formats import slack_body, teams_body
from receptionist.delivery.outbox import Attempt, Result

SIGNATURE_HEADER = "X-Receptionist-Signature"
TIMESTAMP_HEADER = "X-Receptionist-Timestamp"
ERROR_TEXT_MAX = 200


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify(secret: str, headers: Any, body: bytes, *, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, ""))


def classify(status: int) -> Result:
    """2xx done; 408/429 and 5xx try again; any other 4xx (or odd code) will not change."""
    if 200 <= status < 300:
        return "sent"
    if status in (408, 429) or status >= 500:
        return "retry"
    return "failed"


def body_for(channel: WebhookChannel, payload: dict[str, Any]) -> bytes:
    document = payload
    if channel.format == "slack":
        document = slack_body(payload)
    elif channel.format == "teams":
        document = teams_body(payload)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def send_webhook(
    session: aiohttp.ClientSession, channel: WebhookChannel, payload: dict[str, Any]
) -> Attempt:
    started = time.monotonic()
    try:
        body = body_for(channel, payload)
    except (ValueError, TypeError, KeyError) as exc:
        # The same document builds the same way every time: retrying cannot help.
        reason = f"could not build the body: {type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX]
        return Attempt("failed", None, reason, _ms(started))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"receptionist/{__version__}",
        "X-Receptionist-Event": payload["type"],
        "X-Receptionist-Event-Id": payload["id"],
    }
    try:
        if channel.secret is not None and channel.format == "json":
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(channel.secret.read(), timestamp, body)
        timeout = aiohttp.ClientTimeout(total=channel.timeout_seconds)
        async with session.post(
            str(channel.url), data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            text = (await response.text(errors="replace"))[:ERROR_TEXT_MAX]
            result = classify(response.status)
            error = None if result == "sent" else f"HTTP {response.status}: {text}".strip()
            return Attempt(result, response.status, error, _ms(started))
    except LookupError as exc:  # the signing secret is missing: fixable, so retried
        return Attempt("retry", None, f"signing secret: {exc}", _ms(started))
    except TimeoutError:
        error = f"timed out after {channel.timeout_seconds:g} s"
        return Attempt("retry", None, error, _ms(started))
    except aiohttp.ClientError as exc:
        # A Slack or Teams URL carries its secret in the path: errors name the host only.
        error = f"{type(exc).__name__}: {exc}".replace(str(channel.url), channel.url.host or "")
        return Attempt("retry", None, error[:ERROR_TEXT_MAX], _ms(started))


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
