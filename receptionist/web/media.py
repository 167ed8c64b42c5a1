"""Recordings (served with HTTP range requests, from the recordings folder only) and the
live view of calls in progress."""

from __future__ import annotations

import re

import aiohttp_jinja2
from aiohttp import web

from receptionist.store import call_log
from receptionist.web.context import context, user
from receptionist.web.live import LiveCall, live_calls, stream
from receptionist.web.pages import visible_call
from receptionist.web.sessions import Sessions

_FIRST_BYTES = re.compile(r"^bytes=0-")


async def recording(request: web.Request) -> web.StreamResponse:
    """GET /calls/{call_id}/recordings/{id}: the WAV, seekable (aiohttp answers Range)."""
    call = await visible_call(request)
    index = request.match_info["id"]
    if not index.isdigit() or len(index) > 18:
        raise web.HTTPNotFound()
    ctx = context(request)
    root = ctx.settings.recordings_dir
    path = await ctx.db.run(lambda store: call_log.recording_file(store, call.id, int(index), root))
    if path is None:
        raise web.HTTPNotFound()
    # One audit row per playback, not per range request the player makes while seeking.
    range_header = request.headers.get("Range", "")
    if not range_header or _FIRST_BYTES.match(range_header):
        me = user(request)
        target = f"call {call.id} recording {index}"
        await ctx.db.run(lambda store: Sessions(store.sql).audit(me, "play_recording", target))
    response = web.FileResponse(path, headers={"Content-Type": "audio/wav"})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@aiohttp_jinja2.template("live.html")
async def live_page(request: web.Request) -> dict[str, object]:
    return {"calls": _visible_live(request)}


def _visible_live(request: web.Request) -> list[LiveCall]:
    me = user(request)
    return [c for c in live_calls(context(request).live()) if me.can_see(c.business)]


async def live_events(request: web.Request) -> web.StreamResponse:
    return await stream(request, lambda: _visible_live(request), context(request).stopping)
