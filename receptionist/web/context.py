"""What every handler of the web page needs, kept on the aiohttp app under one key."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from receptionist.business import Business
from receptionist.call.callback import CallbackDesk
from receptionist.settings import Settings
from receptionist.store.users import User
from receptionist.web.db import WebDb
from receptionist.web.inbox_live import InboxWatch
from receptionist.web.live import LiveSource
from receptionist.web.sessions import LoginLimiter, Session
from receptionist.web.times import Zones


@dataclass
class WebContext:
    settings: Settings
    businesses: Mapping[str, Business]
    db: WebDb
    live: LiveSource
    callbacks: CallbackDesk | None = None  # None: no calls back from this page
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    zones: Zones = field(init=False)
    inbox: InboxWatch = field(init=False)

    def __post_init__(self) -> None:
        self.zones = Zones(self.businesses)
        self.inbox = InboxWatch(self.db)

    def trusted_proxy(self, address: str | None) -> bool:
        trusted = {p.strip() for p in self.settings.web_trusted_proxies.split(",") if p.strip()}
        if not address:
            return False
        try:
            return str(ipaddress.ip_address(address)) in {
                str(ipaddress.ip_address(p)) for p in trusted
            }
        except ValueError:
            return False


CONTEXT = web.AppKey("context", WebContext)
SESSION = web.RequestKey("session", Session)  # set on a logged-in request
LOGIN_CSRF = web.RequestKey("login_csrf", str)  # the login form's token (no session yet)


def context(request: web.Request) -> WebContext:
    return request.app[CONTEXT]


def session(request: web.Request) -> Session:
    return request[SESSION]  # KeyError: a route reached without the login middleware


def user(request: web.Request) -> User:
    return session(request).user


def client_address(request: web.Request) -> str:
    """The browser's address: X-Forwarded-For's last hop only when a trusted proxy sent it."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and context(request).trusted_proxy(peer):
        return forwarded.split(",")[-1].strip()
    return peer


def is_tls(request: web.Request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a trusted proxy)."""
    mode = context(request).settings.web_cookie_secure
    if mode != "auto":
        return mode == "always"
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and context(request).trusted_proxy(request.remote)
