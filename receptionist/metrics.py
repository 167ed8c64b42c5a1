"""Health and Prometheus metrics over HTTP, on loopback unless configured otherwise.

Names follow Asterisk's res_prometheus style (`asterisk_calls_count`) with a
`receptionist_` prefix. The text format is small enough to write out here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sized
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from receptionist.logs import log

logger = logging.getLogger(__name__)


@dataclass
class CallMetrics:
    """Counters the app updates as calls start and end."""

    calls_total: int = 0
    ended: Counter[str] = field(default_factory=Counter)  # end reason -> calls
    first_audio_seconds_sum: float = 0.0
    first_audio_count: int = 0

    def call_started(self) -> None:
        self.calls_total += 1

    def call_ended(self, reason: str, first_audio_s: float | None) -> None:
        self.ended[reason or "unknown"] += 1
        if first_audio_s is not None:
            self.first_audio_seconds_sum += first_audio_s
            self.first_audio_count += 1


class Observed(Protocol):
    """What the metrics read of the app (ReceptionistApp): its counters, its calls in
    progress and whether ARI is connected."""

    @property
    def metrics(self) -> CallMetrics: ...

    @property
    def calls(self) -> Sized: ...

    @property
    def connected(self) -> asyncio.Event: ...


def render(app: Observed) -> str:
    m = app.metrics
    lines = [
        "# HELP receptionist_calls_count Calls the receptionist took.",
        "# TYPE receptionist_calls_count counter",
        f"receptionist_calls_count {m.calls_total}",
        "# HELP receptionist_calls_active Calls in progress.",
        "# TYPE receptionist_calls_active gauge",
        f"receptionist_calls_active {len(app.calls)}",
        "# HELP receptionist_calls_ended_count Calls ended, by how they ended.",
        "# TYPE receptionist_calls_ended_count counter",
        *(
            f'receptionist_calls_ended_count{{reason="{reason}"}} {count}'
            for reason, count in sorted(m.ended.items())
        ),
        "# HELP receptionist_first_audio_seconds Answer to the first model audio sent.",
        "# TYPE receptionist_first_audio_seconds summary",
        f"receptionist_first_audio_seconds_sum {m.first_audio_seconds_sum:.6f}",
        f"receptionist_first_audio_seconds_count {m.first_audio_count}",
        "# HELP receptionist_ari_connected Whether the ARI events websocket is up.",
        "# TYPE receptionist_ari_connected gauge",
        f"receptionist_ari_connected {int(app.connected.is_set())}",
    ]
    return "\n".join(lines) + "\n"


async def start_http(app: Observed, host: str, port: int) -> web.AppRunner:
    """Serve /metrics and /health (200 while ARI is connected, else 503)."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=render(app), content_type="text/plain", charset="utf-8")

    async def health(_: web.Request) -> web.Response:
        ok = app.connected.is_set()
        body = {"ari": "connected" if ok else "disconnected", "active_calls": len(app.calls)}
        return web.json_response(body, status=200 if ok else 503)

    web_app = web.Application()
    web_app.router.add_get("/metrics", metrics)
    web_app.router.add_get("/health", health)
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log(logger, logging.INFO, "metrics listening", host=host, port=port)
    return runner
