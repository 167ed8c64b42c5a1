"""Watching deliveries: the oldest-pending age, /metrics and /health, bookings, and the
CLI's --business and --all-failed."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest

from benchmarks import delivery as delivery_benchmark
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.cli import main
from receptionist.delivery.worker import DeliveryStats
from receptionist.sandbox.launcher import free_port
from receptionist.service.app import ReceptionistApp
from receptionist.service.metrics import CallMetrics, start_http
from receptionist.store.log import Store
from tests.fakes.receivers import WebhookReceiver
from tests.unit.delivery_helpers import make_business, running_worker
from tests.waiting import eventually


async def test_oldest_pending_age_grows_while_the_receiver_is_down(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    hook = WebhookReceiver()  # never started: connections are refused
    business = make_business(tmp_path, [{"type": "webhook", "url": hook.url}])
    async with running_worker(db, {"test-co": business}) as worker:
        store.add_message(None, "test-co", "Jane", "+15552345678", "hello")
        await eventually(lambda: worker.stats.oldest_pending_s > 0.5 and worker.stats.retried)
        assert worker.stats.sent == 0 and worker.stats.failed == 0
    store.close()


async def _get(port: int, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as r:
        body = await (r.json() if path == "/health" else r.text())
        return r.status, body


async def test_metrics_and_health_report_deliveries(tmp_path: Path) -> None:
    connected = asyncio.Event()
    connected.set()
    Store(tmp_path / "r.db").close()
    settings = SimpleNamespace(database=tmp_path / "r.db")
    fake = SimpleNamespace(
        metrics=CallMetrics(), calls={}, connected=connected, settings=settings, config_issues=[]
    )
    app = cast(ReceptionistApp, fake)
    stats = DeliveryStats(sent=7, retried=3, failed=1, oldest_pending_s=12.5)
    port = free_port()
    runner = await start_http(app, "127.0.0.1", port, stats)
    try:
        async with AudioSocketServer() as server:
            app.audiosocket = server  # as app.run() does once it listens
            status, text = await _get(port, "/metrics")
            assert 'receptionist_deliveries_total{result="sent"} 7\n' in text
            assert 'receptionist_deliveries_total{result="retried"} 3\n' in text
            assert 'receptionist_deliveries_total{result="failed"} 1\n' in text
            assert "receptionist_deliveries_oldest_pending_seconds 12.500\n" in text
            status, health = await _get(port, "/health")
            assert status == 200 and health["status"] == "ok"
            stats.oldest_pending_s = 301.0  # past the five-minute threshold
            status, health = await _get(port, "/health")
            assert status == 200 and health["status"] == "degraded"
            assert health["deliveries"] == {"status": "degraded", "oldest_pending_seconds": 301.0}
    finally:
        await runner.cleanup()


async def test_a_booking_is_announced(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with WebhookReceiver() as hook:
        channel = {"type": "webhook", "url": hook.url, "events": ["appointment.booked"]}
        async with running_worker(db, {"test-co": make_business(tmp_path, [channel])}):
            start = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
            store.add_booking(None, "test-co", "Jane Doe", "+15552345678", start,
                              start + timedelta(minutes=30), "gcal-1")  # fmt: skip
            store.add_message(None, "test-co", "Jane Doe", "+15552345678", "not sent here")
            await eventually(lambda: len(hook.accepted()) == 1)
    body = hook.requests[0].json
    assert body["type"] == "appointment.booked"
    assert body["appointment"]["start"] == "2026-12-03T15:00:00.000+00:00"
    assert body["appointment"]["caller_name"] == "Jane Doe"
    assert [r.json["type"] for r in hook.requests] == ["appointment.booked"]  # only its events
    store.close()


async def test_cli_filters_by_business_and_retries_all_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with WebhookReceiver(statuses=[410, 410]) as hook:
        businesses = {
            slug: make_business(tmp_path, [{"type": "webhook", "url": hook.url}], slug=slug)
            for slug in ("one", "two")
        }
        async with running_worker(db, businesses):
            for slug in businesses:
                store.add_message(None, slug, "Jane", "+15552345678", f"for {slug}")
            await eventually(lambda: len(hook.requests) == 2)
            await eventually(
                lambda: (
                    store.db.execute(
                        "SELECT count(*) FROM deliveries WHERE status = 'failed'"
                    ).fetchone()[0]
                    == 2
                )
            )
            assert main(["deliveries", "list", "--failed", "--business", "two", "--db",
                         str(db)]) == 0  # fmt: skip
            listed = capsys.readouterr().out.splitlines()
            assert len(listed) == 1 and " two " in listed[0]
            assert main(["deliveries", "retry", "--all-failed", "--db", str(db), "--json"]) == 0
            assert capsys.readouterr().out.strip() == '{"queued": [1, 2]}'
            await eventually(lambda: len(hook.accepted()) == 2)
    store.close()


async def test_a_clean_stop_gives_back_the_leases_of_sends_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    connected = asyncio.Event()
    held: list[asyncio.StreamWriter] = []  # kept, so the connection stays open

    def hold_open(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, answer nothing: the send stays in flight
        connected.set()

    port = free_port()
    server = await asyncio.start_server(hold_open, "127.0.0.1", port)
    business = make_business(tmp_path, [{"type": "webhook", "url": f"http://127.0.0.1:{port}/"}])
    try:
        async with running_worker(db, {"test-co": business}):
            store.add_message(None, "test-co", "Jane", "+15552345678", "hello")
            await asyncio.wait_for(connected.wait(), 10)
            leased = "SELECT count(*) FROM deliveries WHERE lease_owner IS NOT NULL"
            assert store.db.execute(leased).fetchone()[0] == 1
        await eventually(lambda: store.db.execute(leased).fetchone()[0] == 0)
        [row] = store.db.query("SELECT status, attempts FROM deliveries")
        assert row == {"status": "pending", "attempts": 0}  # taken again at the next start
    finally:
        server.close()
        store.close()


@pytest.mark.benchmark
def test_the_delivery_benchmark_runs_and_reports_finite_figures() -> None:
    figures = {f.name: f for f in delivery_benchmark.run(quick=True)}
    assert set(figures) == {
        "commit to receiver p50", "commit to receiver p95", "worker throughput"
    }  # fmt: skip
    assert all(math.isfinite(f.value) and f.value > 0 for f in figures.values())
