"""Email delivery over SMTP (STARTTLS, implicit TLS or plain), text + HTML, via aiosmtplib.

The HTML is a handful of escaped lines built here rather than a template engine:
every value that reaches it is escaped in one place (`_html`), and the layout is
one list, so a dependency on Jinja2 would buy nothing.
"""

from __future__ import annotations

import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from typing import Any

import aiosmtplib

from receptionist.business.notifications import EmailChannel
from receptionist.delivery.formats import caller, subject, tel_link, text_lines
from receptionist.delivery.outbox import Attempt, Result

ERROR_TEXT_MAX = 200


def render_email(channel: EmailChannel, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(payload)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = formatdate(localtime=False)
    # The event id in the Message-ID lets a mail filter drop a repeated delivery.
    message["Message-ID"] = make_msgid(idstring=payload["id"], domain="receptionist.local")
    message["X-Receptionist-Event-Id"] = payload["id"]
    message.set_content("\n".join(text_lines(payload)) + "\n")
    message.add_alternative(_html(payload), subtype="html")
    return message


def _html(payload: dict[str, Any]) -> str:
    _, number = caller(payload)
    parts = [f"<h2>{escape(subject(payload))}</h2>", "<p>"]
    for line in text_lines(payload):
        if number and line == f"Number: {number}":
            # A tap-to-call link: phones open the dialer with the number filled in.
            link = f'<a href="{escape(tel_link(number))}">{escape(number)}</a>'
            parts.append(f"Number: {link}<br>")
        elif line.startswith("Call page: "):
            url = line.removeprefix("Call page: ")
            parts.append(f'<a href="{escape(url)}">Open the call</a><br>')
        elif line:
            parts.append(f"{escape(line)}<br>")
        else:
            parts.append("</p><p>")
    parts.append("</p>")
    return "<!DOCTYPE html><html><body>" + "\n".join(parts) + "</body></html>\n"


async def send_email(channel: EmailChannel, payload: dict[str, Any]) -> Attempt:
    started = time.monotonic()
    try:
        message = render_email(channel, payload)
    except (ValueError, TypeError, KeyError) as exc:
        # The same document builds the same way every time: retrying cannot help.
        error = f"could not build the email: {type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX]
        return Attempt("failed", None, error, _ms(started))
    try:
        password = channel.password.read() if channel.password is not None else None
        tls = ssl.create_default_context(cafile=channel.ca_file) if channel.ca_file else None
        await aiosmtplib.send(
            message,
            hostname=channel.smtp_host,
            port=channel.port,
            username=channel.username,
            password=password,
            use_tls=channel.security == "tls",
            start_tls=channel.security == "starttls",
            tls_context=tls,
            timeout=channel.timeout_seconds,
        )
        return Attempt("sent", 250, None, _ms(started))
    except LookupError as exc:  # the password is missing: fixable, so retried
        return Attempt("retry", None, f"SMTP password: {exc}", _ms(started))
    except aiosmtplib.SMTPResponseException as exc:
        # 5xx (refused recipient, failed login) will not change by itself; 4xx may.
        result: Result = "failed" if exc.code >= 500 else "retry"
        return Attempt(result, exc.code, f"SMTP {exc.code}: {exc.message}"[:ERROR_TEXT_MAX],
                       _ms(started))  # fmt: skip
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return Attempt("failed", None, f"recipients refused: {exc}"[:ERROR_TEXT_MAX], _ms(started))
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Attempt("retry", None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX], _ms(started))


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
