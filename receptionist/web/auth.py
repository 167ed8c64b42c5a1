"""Login, logout, and the middleware every other page goes through: a valid session,
a CSRF token on every POST, and security headers on every answer."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from receptionist.core.logs import log
from receptionist.store.inbox import unread_count
from receptionist.store.users import MAX_PASSWORD, Users, check_credentials
from receptionist.web.context import LOGIN_CSRF, SESSION, client_address, context, is_tls
from receptionist.web.sessions import SESSION_HOURS, Session, Sessions

logger = logging.getLogger(__name__)
COOKIE = "rx_session"
LOGIN_CSRF_COOKIE = "rx_login"
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = {"/login"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    # Scripts and styles from our own static files only: no inline script can run.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    token = request.cookies.get(COOKIE, "")
    ctx = context(request)
    found = await ctx.db.run(lambda store: Sessions(store.sql).get(token)) if token else None
    if found is None:
        raise web.HTTPSeeOther("/login?next=" + quote(request.path_qs, safe=""))
    request[SESSION] = found
    if request.method not in ("GET", "HEAD"):
        form = await request.post()
        sent = str(form.get("csrf", "")) or request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, found.csrf):
            raise web.HTTPForbidden(text="This form has expired or did not come from this site.")
    response = await handler(request)
    response.headers.setdefault("Cache-Control", "no-store")  # pages hold callers' details
    return response


def see_other(location: str) -> web.Response:
    """303: after a POST, the browser GETs `location` (a back button does not re-post)."""
    return web.Response(status=303, headers={"Location": location})


def safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


@aiohttp_jinja2.template("login.html")
async def login_page(request: web.Request) -> dict[str, object]:
    return {"next": safe_next(request.query.get("next", "")), "error": None}


def _render_login(request: web.Request, error: str, status: int, next_url: str) -> web.Response:
    context = {"next": next_url, "error": error}
    return aiohttp_jinja2.render_template("login.html", request, context, status=status)


async def login(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    form = await request.post()
    username = str(form.get("username", ""))[:100]
    password = str(form.get("password", ""))[: MAX_PASSWORD + 1]
    next_url = safe_next(str(form.get("next", "")))
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = str(form.get("csrf", ""))
    if not cookie or not hmac.compare_digest(cookie, sent):
        return _render_login(request, "The form expired: please sign in again.", 403, next_url)
    address = client_address(request)
    if ctx.limiter.blocked(address, username):
        log(logger, logging.WARNING, "web login blocked", user=username, address=address)
        return _render_login(
            request, "Too many failed attempts: wait a few minutes, then try again.", 429, next_url
        )
    found, stored = await ctx.db.run(lambda store: Users(store.sql).credentials(username))
    # The slow part (scrypt) on the hashing pool: the database thread stays free for pages.
    user = found if await ctx.db.hash(lambda: check_credentials(password, stored)) else None
    if user is None:
        ctx.limiter.failed(address, username)
        log(logger, logging.WARNING, "web login failed", user=username, address=address)
        return _render_login(request, "Wrong username or password.", 401, next_url)
    ctx.limiter.succeeded(address, username)
    log(logger, logging.INFO, "web login", user=user.username, address=address)
    token = await ctx.db.run(lambda store: Sessions(store.sql).open(user))
    response = see_other(next_url)
    response.set_cookie(
        COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="Lax",
        secure=is_tls(request), path="/",
    )  # fmt: skip
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(COOKIE, "")
    await context(request).db.run(lambda store: Sessions(store.sql).close(token))
    response = see_other("/login")
    response.del_cookie(COOKIE, path="/")
    return response


@web.middleware
async def login_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the login page its double-submit CSRF token (there is no session yet)."""
    if request.path != "/login":
        return await handler(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    request[LOGIN_CSRF] = token
    response = await handler(request)
    if isinstance(response, web.Response) and response.status != 303:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                            secure=is_tls(request), path="/login")  # fmt: skip
    return response


async def template_context(request: web.Request) -> dict[str, object]:
    """Variables every template sees."""
    found = request.get(SESSION)
    unread, names = 0, {}
    if isinstance(found, Session):
        me = found.user
        unread = await context(request).db.run(lambda store: unread_count(store, me.visible()))
        businesses = context(request).businesses
        # Only the businesses this user may see: other names are not theirs to learn.
        names = {slug: b.business.name for slug, b in businesses.items() if me.can_see(slug)}
    return {
        "unread": unread,
        "names_json": json.dumps(names),
        "me": found.user if isinstance(found, Session) else None,
        "csrf": found.csrf if isinstance(found, Session) else request.get(LOGIN_CSRF, ""),
        "request": request,
    }
