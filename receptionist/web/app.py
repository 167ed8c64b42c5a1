"""The office web page as an aiohttp application, and its start inside `serve`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from receptionist.business import Business
from receptionist.call.callback import CallbackDesk
from receptionist.core.logs import log
from receptionist.delivery.records import status_label
from receptionist.settings import Settings
from receptionist.store.engine import Location
from receptionist.store.handoffs import handoff_label, result_label
from receptionist.store.timeline import clock, duration, tool_summary
from receptionist.web import auth, callback, dashboard, media, pages, usage
from receptionist.web.context import CONTEXT, WebContext
from receptionist.web.db import WebDb
from receptionist.web.live import LiveSource
from receptionist.web.timing import TimedTemplate, server_timing

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent


def _query_with(request: web.Request, **changes: object) -> str:
    """The page's query string with some parameters changed (pagination links)."""
    query = dict(request.query) | {key: str(value) for key, value in changes.items()}
    return urlencode(query)


def _no_calls() -> Mapping[str, object]:
    return {}


def create_app(
    settings: Settings,
    businesses: Mapping[str, Business],
    *,
    live: LiveSource | None = None,
    database: Location | None = None,
    callbacks: CallbackDesk | None = None,
) -> web.Application:
    """The web app over the call log at `database` (default: settings.database).

    `live` returns the running app's calls (ReceptionistApp.calls); without it the
    live view is simply empty. `callbacks` places calls back through the running app's
    ARI connection; without it there is no "Call back" button.
    """
    app = web.Application(
        middlewares=[auth.security_headers, server_timing, auth.login_csrf, auth.require_login],
        client_max_size=64 * 1024,  # forms only: a note is the largest thing posted
    )
    db = WebDb(database or settings.database)
    app[CONTEXT] = WebContext(settings, businesses, db, live or _no_calls, callbacks)  # type: ignore[arg-type]
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        context_processors=[auth.template_context],
        undefined=jinja2.StrictUndefined,
    )
    env.template_class = TimedTemplate  # rendering time goes into Server-Timing
    env.filters["local"] = app[CONTEXT].zones.show  # the business's zone, named
    env.globals.update(
        clock=clock, duration=duration, tool_summary=tool_summary, query_with=_query_with,
        handoff_label=handoff_label, result_label=result_label, status_label=status_label,
    )  # fmt: skip
    env.globals["has_calendar"] = any(b.calendar for b in businesses.values())
    # Businesses whose messages and calls get a "Call back" button.
    env.globals["callback_businesses"] = (
        {slug for slug, b in businesses.items() if b.callbacks} if callbacks else set()
    )
    router = app.router
    router.add_get("/", _home)
    router.add_get("/login", auth.login_page)
    router.add_post("/login", auth.login)
    router.add_post("/logout", auth.logout)
    router.add_get("/inbox", pages.inbox_page)
    router.add_post("/messages/{id}/callback", callback.message_callback)  # before {action}
    router.add_post(r"/messages/{id}/{action:[a-z]+}", pages.message_action)
    router.add_post("/calls/{call_id}/callback", callback.call_callback)
    router.add_get("/calls", pages.calls_page)
    router.add_get("/calls/{call_id}", pages.call_page)
    router.add_get("/calls/{call_id}/recordings/{id}", media.recording)
    router.add_get("/live", media.live_page)
    router.add_get("/live/events", media.live_events)
    router.add_get("/inbox/events", pages.inbox_events)
    router.add_get("/bookings", pages.bookings_page)
    router.add_get("/week", dashboard.dashboard_page)
    router.add_get("/usage", usage.usage_page)
    router.add_static("/static/", HERE / "static", name="static", append_version=True)

    async def watch_inbox(_: web.Application) -> AsyncIterator[None]:
        ctx = app[CONTEXT]
        await ctx.inbox.start()
        task = asyncio.create_task(ctx.inbox.run(ctx.stopping), name="inbox-watch")
        yield
        ctx.stopping.set()
        await asyncio.gather(task, return_exceptions=True)

    async def stop_streams(_: web.Application) -> None:
        app[CONTEXT].stopping.set()  # live streams end, so shutdown need not wait for them

    async def close_db(_: web.Application) -> None:
        await db.close()

    app.cleanup_ctx.append(watch_inbox)
    app.on_shutdown.append(stop_streams)
    app.on_cleanup.append(close_db)
    return app


async def _home(_: web.Request) -> web.StreamResponse:
    return web.Response(status=302, headers={"Location": "/inbox"})


async def start_web(
    settings: Settings,
    businesses: Mapping[str, Business],
    live: LiveSource,
    *,
    callbacks: CallbackDesk | None = None,
) -> web.AppRunner:
    """Serve the web page on settings.web_host:web_port until the runner is cleaned up."""
    app = create_app(settings, businesses, live=live, callbacks=callbacks)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.web_port).start()
    log(logger, logging.INFO, "web page listening", host=settings.web_host, port=settings.web_port)
    return runner
