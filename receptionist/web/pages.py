"""The inbox, the calls list, a call's page and bookings: each a thin layer over the
call log's query functions (the same ones the CLI uses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from receptionist.delivery.records import Notification, notifications_of
from receptionist.store import call_log, inbox
from receptionist.store.handoffs import Handoff, handoffs_of
from receptionist.store.log import MessageStatus, Store
from receptionist.store.records import CallRecord
from receptionist.store.timeline import timeline
from receptionist.store.usage import CallUsage, usage_of
from receptionist.store.users import User, Users
from receptionist.web import inbox_live
from receptionist.web.auth import safe_next, see_other
from receptionist.web.context import context, user
from receptionist.web.sessions import Sessions
from receptionist.web.times import day_start

PAGE_SIZE = 50
SEARCH_MAX = 200


@dataclass
class Filters:
    business: str | None = None
    status: MessageStatus | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    page: int = 1
    errors: list[str] = field(default_factory=list)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def _date(text: str, zone: tzinfo, *, end: bool, errors: list[str]) -> datetime | None:
    """A calendar day in the office's zone from a date field; the end includes that day."""
    if not text:
        return None
    try:
        day = datetime.fromisoformat(text).date()
    except ValueError:
        errors.append(f"'{text[:20]}' is not a date (YYYY-MM-DD): that filter was left out.")
        return None
    return day_start(day, zone, end=end)


def filters(request: web.Request, me: User) -> Filters:
    query = request.query
    found = Filters()
    business = query.get("business", "")
    if business:
        if not me.can_see(business):
            raise web.HTTPNotFound()  # a business this user may not see does not exist for them
        found.business = business
    status = query.get("status", "new" if request.path == "/inbox" else "")
    if status in ("new", "handled"):
        found.status = "new" if status == "new" else "handled"
    zones = context(request).zones
    zone = zones.of(business) if business else zones.common(_businesses(request, me))
    found.since = _date(query.get("since", ""), zone, end=False, errors=found.errors)
    found.until = _date(query.get("until", ""), zone, end=True, errors=found.errors)
    found.search = query.get("q", "").strip()[:SEARCH_MAX] or None
    page = query.get("page", "1")
    found.page = int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1
    return found


def _businesses(request: web.Request, me: User) -> list[str]:
    return [slug for slug in sorted(context(request).businesses) if me.can_see(slug)]


def _business_names(request: web.Request) -> dict[str, str]:
    return {slug: b.business.name for slug, b in context(request).businesses.items()}


@aiohttp_jinja2.template("inbox.html")
async def inbox_page(request: web.Request) -> dict[str, Any]:
    me = user(request)
    found = filters(request, me)
    visible = me.visible()

    def load(store: Store) -> tuple[list[inbox.InboxItem], list[User]]:
        items = inbox.list_inbox(
            store, businesses=visible, business=found.business, status=found.status,
            since=found.since, until=found.until, search=found.search, limit=PAGE_SIZE + 1,
            offset=found.offset,
        )  # fmt: skip
        return items, Users(store.sql).list()

    ctx = context(request)
    items, users = await ctx.db.run(load)
    return {
        "latest": ctx.inbox.view(visible, ctx.inbox.version)["latest"],
        "items": items[:PAGE_SIZE], "more": len(items) > PAGE_SIZE,
        "filters": found, "businesses": _businesses(request, me), "users": users,
        "names": _business_names(request), "status_choice": request.query.get("status", "new"),
    }  # fmt: skip


async def message_action(request: web.Request) -> web.StreamResponse:
    """POST /messages/{id}/{action}: handled, reopen, assign, note; then back to the inbox."""
    me = user(request)
    ctx = context(request)
    message_id = _int(request.match_info["id"])
    action = request.match_info["action"]
    form = await request.post()

    def act(store: Store) -> str | None:
        """The message's business once the action is done; None: no such message here."""
        item = inbox.get_item(store, message_id)
        if item is None or not me.can_see(item.message.business):
            return None
        if action == "handled":
            store.mark_handled(message_id)
            Sessions(store.sql).audit(me, "mark_handled", f"message {message_id}")
        elif action == "reopen":
            inbox.reopen(store, message_id)
            Sessions(store.sql).audit(me, "reopen", f"message {message_id}")
        elif action == "assign":
            name = str(form.get("assignee", "")).strip()
            assignee = Users(store.sql).get(name) if name else None
            if name and (assignee is None or not assignee.can_see(item.message.business)):
                raise web.HTTPBadRequest(text=f"'{name[:64]}' cannot see this message")
            inbox.assign(store, message_id, assignee.username if assignee else None)
        elif action == "note":
            inbox.set_note(store, message_id, str(form.get("note", "")))
        else:
            return None
        return item.message.business

    business = await ctx.db.run(act)
    if business is None:
        raise web.HTTPNotFound()
    await ctx.inbox.touched(message_id, business, action)  # other open pages update now
    return see_other(safe_next(str(form.get("back", ""))))


async def inbox_events(request: web.Request) -> web.StreamResponse:
    """GET /inbox/events: the user's inbox (unread count, new messages, colleagues'
    changes) as server-sent events, for every page's count and the open inbox."""
    ctx = context(request)
    return await inbox_live.stream(request, ctx.inbox, user(request).visible(), ctx.stopping)


@aiohttp_jinja2.template("calls.html")
async def calls_page(request: web.Request) -> dict[str, Any]:
    me = user(request)
    found = filters(request, me)

    def load(store: Store) -> list[call_log.CallRow]:
        return call_log.list_calls(
            store, businesses=me.visible(), business=found.business, since=found.since,
            until=found.until, search=found.search, limit=PAGE_SIZE + 1, offset=found.offset,
        )  # fmt: skip

    rows = await context(request).db.run(load)
    return {
        "rows": rows[:PAGE_SIZE], "more": len(rows) > PAGE_SIZE, "filters": found,
        "businesses": _businesses(request, me), "names": _business_names(request),
    }  # fmt: skip


async def visible_call(request: web.Request) -> CallRecord:
    """The call in the URL, or 404 (also when it belongs to a business the user can't see)."""
    me = user(request)
    call_id = request.match_info["call_id"]
    call = await context(request).db.run(lambda store: store.get_call(call_id))
    if call is None or not me.can_see(call.business):
        raise web.HTTPNotFound()
    return call


@aiohttp_jinja2.template("call.html")
async def call_page(request: web.Request) -> dict[str, Any]:
    call = await visible_call(request)

    def load(store: Store) -> tuple[list[Handoff], list[Notification], CallUsage | None]:
        return (
            handoffs_of(store, call.id),
            notifications_of(store, call.id),
            usage_of(store, call.id),
        )

    handoffs, notifications, usage = await context(request).db.run(load)
    return {
        "call": call, "timeline": timeline(call), "names": _business_names(request),
        "handoffs": handoffs, "notifications": notifications, "usage": usage,
    }  # fmt: skip


@aiohttp_jinja2.template("bookings.html")
async def bookings_page(request: web.Request) -> dict[str, Any]:
    me = user(request)
    ctx = context(request)
    with_calendar = [s for s, b in ctx.businesses.items() if b.calendar and me.can_see(s)]
    if not with_calendar:
        raise web.HTTPNotFound()
    rows = await ctx.db.run(lambda store: store.list_bookings())
    mine = [row for row in rows if row["business"] in with_calendar]
    return {"bookings": mine, "names": _business_names(request)}


def _int(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise web.HTTPNotFound()
    return int(text)
