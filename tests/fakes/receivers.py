"""Real local servers that receive deliveries: an aiohttp webhook receiver and an
aiosmtpd SMTP server. Both record what arrives, with the time it arrived."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import trustme
from aiohttp import web
from aiohttp.typedefs import Handler
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from receptionist.delivery.webhook import verify
from receptionist.sandbox.launcher import free_port


async def serve_post(path: str, handler: Handler, port: int) -> web.AppRunner:
    """An aiohttp server on loopback answering POST `path`."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@dataclass
class Received:
    at: float  # time.time() when it arrived
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers each POST with the next status in `statuses`, then `default`. While `gate`
    is given and not set, each POST is recorded on arrival and answered only once it is
    (a receiver that has taken the event but not yet said so; `waiting` counts them)."""

    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    body: str = "no"  # what a refusal says
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    gate: asyncio.Event | None = None
    waiting: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._runner = await serve_post("/hook", self._handle, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.statuses.pop(0) if self.statuses else self.default
        headers = dict(request.headers)
        self.requests.append(Received(time.time(), request.path, headers, body, status))
        async with self._changed:
            self._changed.notify_all()
        if self.gate is not None and not self.gate.is_set():
            self.waiting += 1
            try:
                await self.gate.wait()
            finally:
                self.waiting -= 1
        return web.Response(status=status, text="ok" if status < 300 else self.body)

    def verified(self, item: Received) -> bool:
        assert self.secret is not None
        return verify(self.secret, item.headers, item.body, now=time.time())

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def wait_accepted(self, count: int, timeout: float = 60.0) -> None:
        """Return once `count` requests were answered 2xx (TimeoutError after `timeout`)."""
        async with self._changed:
            ready = self._changed.wait_for(lambda: len(self.accepted()) >= count)
            await asyncio.wait_for(ready, timeout)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sink.messages.append((time.time(), list(envelope.rcpt_tos), parsed))
        return "250 OK"


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message. With `ca`,
    it speaks TLS (STARTTLS, or implicit TLS from the first byte) with a certificate
    for 127.0.0.1 that CA signed; with `users`, it requires a login."""

    def __init__(
        self,
        *,
        security: str = "none",
        ca: trustme.CA | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.messages: list[tuple[float, list[str], EmailMessage]] = []
        self.logins: list[str] = []
        self.users = users
        options: dict[str, Any] = {}
        if ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
            key = "ssl_context" if security == "tls" else "tls_context"
            options[key] = context
            options["require_starttls"] = security == "starttls"
        if users is not None:
            options |= {"auth_required": True, "authenticator": self._authenticate}
            # Over implicit TLS aiosmtpd does not see the TLS it runs on: the whole
            # connection is encrypted, so AUTH needs no STARTTLS first.
            options["auth_require_tls"] = security == "starttls"
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **options
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        login, password = data.login.decode(), data.password.decode()
        ok = self.users is not None and self.users.get(login) == password
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535 itself

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()
