"""Notification delivery: commit-to-receiver latency and the worker's events per second.

    python -m benchmarks.delivery [--quick]

Real parts on loopback: the call log (SQLite, WAL, fsync on every commit), the delivery
worker as `serve` runs it, and an aiohttp receiver answering 200.

- Latency: messages are committed one at a time, at a steady 20 per second, through the
  AsyncStore the call flow uses, while the worker runs; each
  figure is the receiver's arrival time minus the moment the commit returned.
- Throughput: a backlog of events is committed with the worker stopped (as after an
  outage), then the worker is started and timed until the receiver has them all.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.report import Figure, percentiles, standalone
from receptionist.business import Business, load_business
from receptionist.delivery.worker import DeliveryWorker
from receptionist.store.log import AsyncStore, Store
from tests.fakes.receivers import WebhookReceiver

SECTION = "delivery"
RATE_PER_S = 20.0


def _business(directory: Path, url: str) -> dict[str, Business]:
    data = {"business": {"name": "Bench Co", "timezone": "UTC"}, "hours": {},
            "notifications": {"channels": [{"type": "webhook", "url": url}]}}  # fmt: skip
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return {"bench": load_business(path)}


async def _latency(directory: Path, count: int) -> list[float]:
    database = directory / "latency.db"
    store = AsyncStore(database)
    committed: dict[int, float] = {}
    async with WebhookReceiver() as hook:
        worker = DeliveryWorker(database, _business(directory, hook.url))
        task = asyncio.create_task(worker.run())
        for n in range(count):
            message_id = await store.add_message(
                None, "bench", f"Caller {n}", "+15550000000", "bench"
            )
            committed[message_id] = time.time()
            await asyncio.sleep(1 / RATE_PER_S)
        await hook.wait_accepted(count)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await store.close()
    return [(r.at - committed[r.json["messages"][0]["id"]]) * 1000 for r in hook.accepted()]


async def _throughput(directory: Path, count: int) -> float:
    database = directory / "backlog.db"
    store = Store(database)
    with store.db.atomic():  # the backlog itself is not what is timed
        for n in range(count):
            store.db.table("messages").insert(
                {"business": "bench", "caller_name": f"Caller {n}", "callback_number": "+1555",
                 "message": "bench", "status": "new", "created_at": "2026-01-01T00:00:00+00:00"}
            )  # fmt: skip
    store.close()
    async with WebhookReceiver() as hook:
        worker = DeliveryWorker(database, _business(directory, hook.url))
        started = time.monotonic()
        task = asyncio.create_task(worker.run())
        await hook.wait_accepted(count)
        elapsed = time.monotonic() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return count / elapsed


def run(quick: bool = False) -> list[Figure]:
    logging.getLogger("receptionist.delivery").setLevel(logging.WARNING)  # a line per send
    latency_n, backlog_n = (40, 200) if quick else (200, 1000)
    with tempfile.TemporaryDirectory() as work:
        latencies = asyncio.run(_latency(Path(work), latency_n))
        rate = asyncio.run(_throughput(Path(work), backlog_n))
    p50, p95 = percentiles(latencies, 50, 95)
    note = f"{latency_n} messages at {RATE_PER_S:g}/s"
    return [
        Figure(SECTION, "commit to receiver p50", p50, "ms", note=note),
        Figure(SECTION, "commit to receiver p95", p95, "ms", note=note),
        Figure(SECTION, "worker throughput", rate, "events/s", note=f"backlog of {backlog_n}"),
    ]


if __name__ == "__main__":
    standalone(SECTION, __doc__ or "", run, "fewer messages")
