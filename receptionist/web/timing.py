"""Server-Timing on every page: time spent waiting on the database and rendering the
template, so slowness can be seen from the browser's developer tools.

Each request gets its own tally through a context variable (aiohttp runs each request
in its own task, so concurrent requests never mix); WebDb and the templates add to it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2
from aiohttp import web


@dataclass
class Tally:
    db_ms: float = 0.0
    render_ms: float = 0.0


TALLY: ContextVar[Tally | None] = ContextVar("server_timing", default=None)


def add_db(ms: float) -> None:
    tally = TALLY.get()
    if tally is not None:
        tally.db_ms += ms


class TimedTemplate(jinja2.Template):
    """A template that counts its rendering time towards the request's tally."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        started = time.perf_counter()
        try:
            return super().render(*args, **kwargs)
        finally:
            tally = TALLY.get()
            if tally is not None:
                tally.render_ms += (time.perf_counter() - started) * 1000


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def server_timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    tally = Tally()
    token = TALLY.set(tally)
    started = time.perf_counter()
    try:
        response = await handler(request)
    finally:
        TALLY.reset(token)
    if not response.prepared:  # a stream has already sent its headers
        total = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = (
            f'db;dur={tally.db_ms:.1f};desc="database", '
            f'render;dur={tally.render_ms:.1f};desc="template", total;dur={total:.1f}'
        )
    return response
