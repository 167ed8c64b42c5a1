"""Health and Prometheus metrics over HTTP, on loopback unless configured otherwise.

Names carry a `receptionist_` prefix and follow Prometheus' conventions: counters
end in `_total`, durations are in seconds. The text format is small enough to
write out here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence, Sized
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from receptionist.audiosocket.server import AudioSocketServer
from receptionist.core.counters import COUNTERS
from receptionist.core.logs import log
from receptionist.delivery.metrics import health as delivery_health
from receptionist.delivery.metrics import metric_lines
from receptionist.delivery.worker import DeliveryStats
from receptionist.service.health import check_health
from receptionist.settings import Settings

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
    progress, whether ARI is connected, its settings and the business files not loaded."""

    @property
    def metrics(self) -> CallMetrics: ...

    @property
    def calls(self) -> Sized: ...

    @property
    def connected(self) -> asyncio.Event: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def config_issues(self) -> Sequence[object]: ...  # business files not loaded


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, about: str, samples: list[str]) -> list[str]:
    return [f"# HELP {name} {about}", f"# TYPE {name} {kind}", *samples]


def _by(name: str, label: str, counts: Counter[str]) -> list[str]:
    return [f'{name}{{{label}="{_label(key)}"}} {n}' for key, n in sorted(counts.items())]


def render(app: Observed, deliveries: DeliveryStats | None = None) -> str:
    """The Prometheus text format; counters end in `_total`, as Prometheus names them."""
    m, events = app.metrics, COUNTERS
    lines = [
        *_family("receptionist_calls_total", "counter", "Calls the receptionist took.",
                 [f"receptionist_calls_total {m.calls_total}"]),
        *_family("receptionist_calls_active", "gauge", "Calls in progress.",
                 [f"receptionist_calls_active {len(app.calls)}"]),
        *_family("receptionist_calls_ended_total", "counter", "Calls ended, by how they ended.",
                 _by("receptionist_calls_ended_total", "reason", m.ended)),
        *_family("receptionist_fallbacks_total", "counter",
                 "Calls handed to the dialplan fallback, by reason.",
                 _by("receptionist_fallbacks_total", "reason", events.fallbacks)),
        *_family("receptionist_transfers_total", "counter",
                 "Transfers, by result (dialled, error, returned_<dial status>).",
                 _by("receptionist_transfers_total", "result", events.transfers)),
        *_family("receptionist_messages_taken_total", "counter", "Messages taken for staff.",
                 [f"receptionist_messages_taken_total {events.messages_taken}"]),
        *_family("receptionist_model_errors_total", "counter",
                 "Error events from the realtime model, by error code.",
                 _by("receptionist_model_errors_total", "code", events.model_errors)),
        *_family("receptionist_first_audio_seconds", "summary",
                 "Answer to the first model audio sent.",
                 [f"receptionist_first_audio_seconds_sum {m.first_audio_seconds_sum:.6f}",
                  f"receptionist_first_audio_seconds_count {m.first_audio_count}"]),
        *_family("receptionist_ari_connected", "gauge", "Whether the ARI events websocket is up.",
                 [f"receptionist_ari_connected {int(app.connected.is_set())}"]),
        *_family("receptionist_business_config_errors", "gauge",
                 "Problems in business files not loaded.",
                 [f"receptionist_business_config_errors {len(app.config_issues)}"]),
        *(metric_lines(deliveries) if deliveries is not None else ()),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


async def start_http(
    app: Observed, host: str, port: int, deliveries: DeliveryStats | None = None
) -> web.AppRunner:
    """Serve /metrics and /health (200 when every part works, else 503 naming those
    that fail: ari, audiosocket, call_log; its `status` says `degraded` while a
    notification waits too long)."""

    async def metrics(_: web.Request) -> web.Response:
        text = render(app, deliveries)
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def health(_: web.Request) -> web.Response:
        audiosocket = getattr(app, "audiosocket", None)  # set once the server listens
        state = await check_health(
            ari_connected=app.connected.is_set(),
            audiosocket=audiosocket if isinstance(audiosocket, AudioSocketServer) else None,
            database=app.settings.database,
            active_calls=len(app.calls),
        )
        body = state.body()
        if deliveries is not None:
            body["deliveries"] = late = delivery_health(deliveries)
            if not state.failing and late["status"] == "degraded":
                body["status"] = "degraded"  # still 200: a slow receiver is not a dead node
        if app.config_issues:  # serving, but some businesses' calls go to the fallback
            body["config_errors"] = [str(issue) for issue in app.config_issues]
            if not state.failing:
                body["status"] = "degraded"
        return web.json_response(body, status=503 if state.failing else 200)

    web_app = web.Application()
    web_app.router.add_get("/metrics", metrics)
    web_app.router.add_get("/health", health)
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log(logger, logging.INFO, "metrics listening", host=host, port=port)
    return runner
