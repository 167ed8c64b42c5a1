"""The "Call back" buttons: POST /messages/{id}/callback and /calls/{call_id}/callback.

Only the number stored with that message or call is dialled (a form naming another is
refused), only for staff who may see its business, and every attempt, placed or refused,
goes into the audit trail. The call itself is placed by the running app (CallbackDesk).
"""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from receptionist.call.callback import CallbackRefused, CallbackRequest
from receptionist.core.logs import log
from receptionist.store import inbox
from receptionist.store.callbacks import extension_of
from receptionist.store.log import Store
from receptionist.store.users import User
from receptionist.web.auth import safe_next
from receptionist.web.context import context, user
from receptionist.web.sessions import Sessions

logger = logging.getLogger(__name__)


async def _audit(request: web.Request, me: User, action: str, target: str) -> None:
    await context(request).db.run(lambda store: Sessions(store.sql).audit(me, action, target))


async def _refuse(
    request: web.Request, me: User, target: str, why: str, status: int, back: str
) -> web.Response:
    await _audit(request, me, "callback_refused", f"{target}: {why}"[:500])
    log(logger, logging.WARNING, "callback refused", user=me.username, target=target, why=why)
    page = {"error": why, "back": back, "ringing": None}
    return aiohttp_jinja2.render_template("callback.html", request, page, status=status)


async def message_callback(request: web.Request) -> web.StreamResponse:
    me = user(request)
    text = request.match_info["id"]
    message_id = int(text) if text.isdigit() and len(text) < 18 else -1
    item = await context(request).db.run(lambda store: inbox.get_item(store, message_id))
    target = f"message {text[:20]}"
    if item is None or not me.can_see(item.message.business):
        await _audit(request, me, "callback_refused", f"{target}: not a message of theirs")
        raise web.HTTPNotFound()  # another business's message does not exist for them
    message = item.message
    return await _place(request, me, message.business, message.callback_number, target,
                        message_id=message.id)  # fmt: skip


async def call_callback(request: web.Request) -> web.StreamResponse:
    me = user(request)
    call_id = request.match_info["call_id"][:100]
    call = await context(request).db.run(lambda store: store.get_call(call_id))
    target = f"call {call_id}"
    if call is None or not me.can_see(call.business):
        await _audit(request, me, "callback_refused", f"{target}: not a call of theirs")
        raise web.HTTPNotFound()
    # Calling back a call that left a message answers that message.
    message_id = call.messages[-1].id if call.messages else None
    return await _place(request, me, call.business, call.caller_number or "", target,
                        message_id=message_id)  # fmt: skip


async def _place(
    request: web.Request,
    me: User,
    business: str,
    number: str,
    target: str,
    *,
    message_id: int | None,
) -> web.StreamResponse:
    ctx = context(request)
    form = await request.post()
    back = safe_next(str(form.get("back", "")))
    sent = str(form.get("number", number))
    if sent != number:  # a form edited to dial somewhere else
        return await _refuse(request, me, target, f"only {number} can be called back", 400, back)
    config = ctx.businesses.get(business)
    if ctx.callbacks is None or config is None or config.callbacks is None:
        why = "Callbacks are not set up for this business."
        return await _refuse(request, me, target, why, 409, back)
    if not number:
        return await _refuse(request, me, target, "There is no number to call back.", 409, back)

    def extension(store: Store) -> str | None:
        return extension_of(store.sql, me.id)

    desk_phone = await ctx.db.run(extension)
    if not desk_phone:
        why = "Your account has no desk phone extension: ask an admin to set one."
        return await _refuse(request, me, target, why, 409, back)
    wanted = CallbackRequest(config, number, me.username, desk_phone, message_id)
    try:
        placed = await ctx.callbacks.place(wanted)
    except CallbackRefused as refused:
        return await _refuse(request, me, target, str(refused), 409, back)
    await _audit(request, me, "callback", f"{target} to {number} from {desk_phone} ({placed.id})")
    if message_id is not None:
        await ctx.inbox.touched(message_id, business, "callback")
    page = {"error": None, "back": back, "ringing": {"extension": desk_phone, "number": number}}
    return aiohttp_jinja2.render_template("callback.html", request, page)
