"""Wire settings, businesses, store, ARI and the model into a running ReceptionistApp."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from receptionist.ari import AriClient
from receptionist.business import Business, ConfigIssue
from receptionist.core.logs import log
from receptionist.delivery.worker import DeliveryWorker
from receptionist.service.app import ReceptionistApp
from receptionist.service.metrics import start_http
from receptionist.service.model_factory import session_factory
from receptionist.service.placeholders import placeholder_warnings
from receptionist.settings import Settings
from receptionist.store.log import Store
from receptionist.store.open import open_store, postgres_notes
from receptionist.store.retention import sweep
from receptionist.web import start_web

logger = logging.getLogger(__name__)


RETENTION_EVERY_S = 24 * 3600


async def _retention(settings: Settings, businesses: dict[str, Business]) -> None:
    """Sweep expired call data at start and once a day after (the sweep logs itself)."""

    def sweep_once() -> None:
        store = Store(settings.database)
        try:
            sweep(store, businesses, datetime.now(UTC))
        finally:
            store.close()

    while True:
        try:
            await asyncio.to_thread(sweep_once)
        except (OSError, sqlite3.Error) as exc:  # a failed sweep must not stop the service
            log(logger, logging.ERROR, "retention sweep failed", error=str(exc))
        await asyncio.sleep(RETENTION_EVERY_S)


async def serve(
    settings: Settings,
    businesses: dict[str, Business],
    *,
    on_ready: Callable[[ReceptionistApp], None] | None = None,
    stop: asyncio.Event | None = None,
    config_issues: Sequence[ConfigIssue] = (),
    handed_at_start: Sequence[str] = (),
) -> None:
    """Run until SIGTERM/SIGINT (or `stop`), then stop taking calls and drain gently.

    `config_issues`: the business files that could not be loaded (served without them).
    `handed_at_start`: callers reclaim_at_start handed to the fallback (their rows close).
    """
    if not businesses:
        raise ValueError(f"no valid business file in {settings.businesses_dir}: not starting")
    if settings.ari_password is None:
        raise ValueError("no ARI password: set RECEPTIONIST_ARI_PASSWORD or ari_password")
    for warning in placeholder_warnings(settings):
        log(logger, logging.WARNING, warning)
    new_session = session_factory(settings, businesses.values())
    if new_session is None:
        log(logger, logging.WARNING,
            "no realtime API key configured (set OPENAI_API_KEY): "
            "every call goes to the dialplan fallback")  # fmt: skip
    for note in postgres_notes(settings.database):
        log(logger, logging.INFO, f"on PostgreSQL, {note}")
    store = await open_store(settings.database)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value())
    app = ReceptionistApp(settings, businesses, store, ari, new_session)
    app.config_issues = list(config_issues)
    app.handed_at_start = tuple(handed_at_start)
    runner = asyncio.create_task(app.run(), name="app")
    background = [asyncio.create_task(_retention(settings, businesses), name="retention")]
    outbox = DeliveryWorker(settings.database, businesses)
    background.append(asyncio.create_task(outbox.run(), name="delivery"))
    http = await start_http(app, settings.metrics_host, settings.metrics_port, outbox.stats)
    web_page = None
    waits: tuple[asyncio.Task[bool], ...] = ()
    try:
        web_page = await start_web(settings, businesses, lambda: app.calls, callbacks=app.callbacks)
        connected = asyncio.create_task(app.connected.wait(), name="connected")
        stopping = asyncio.create_task(stop.wait(), name="stopping")
        waits = (connected, stopping)
        # The stop signal counts while ARI is still unreached too: a serve that cannot
        # connect (Asterisk down, wrong password) must still stop on Ctrl-C at once.
        await asyncio.wait([connected, stopping, runner], return_when=asyncio.FIRST_COMPLETED)
        if connected.done() and not runner.done() and on_ready is not None:
            on_ready(app)
        elif stopping.done() and not connected.done():
            log(logger, logging.WARNING, "stopping before ARI was ever reached: check "
                "ari_url, ari_user and the ARI password", ari_url=settings.ari_url)  # fmt: skip
        await asyncio.wait([stopping, runner], return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            runner.result()  # surface the failure
        await app.shutdown(settings.shutdown_grace_seconds)
    finally:
        for waiting in waits:
            waiting.cancel()
        for task in (runner, *background):
            task.cancel()
        await asyncio.gather(runner, *background, return_exceptions=True)
        await http.cleanup()
        if web_page is not None:
            await web_page.cleanup()
        await ari.close()
        await store.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
