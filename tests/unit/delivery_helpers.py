"""Shared set-up for the delivery tests: a business with channels, a running worker, and
the worker's steps taken by hand for a call's notifications."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from receptionist.business import Business, load_business
from receptionist.delivery.outbox import Attempt, Outbox, utcnow
from receptionist.delivery.worker import DeliveryStats, DeliveryWorker, RetryPolicy
from receptionist.store.log import Store

HEAD = {"business": {"name": "Test Dental", "timezone": "America/New_York"}, "hours": {}}
FAST = RetryPolicy(base_s=0.2, cap_s=2.0, max_attempts=100)


def make_business(
    tmp_path: Path, channels: list[dict[str, Any]], slug: str = "test-co", **extra: Any
) -> Business:
    data = {**HEAD, "notifications": {"channels": channels, **extra}}
    path = tmp_path / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_business(path)


@contextlib.asynccontextmanager
async def running_worker(
    database: Path, businesses: dict[str, Business], **options: Any
) -> AsyncIterator[DeliveryWorker]:
    options.setdefault("policy", FAST)
    worker = DeliveryWorker(database, businesses, stats=DeliveryStats(), **options)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def deliver(
    store: Store, call_id: str, event_type: str, attempts: dict[str, list[Attempt]]
) -> None:
    """Prepare the call's `event_type` event for the channels in `attempts` (the real
    Outbox, as the worker does), then make each channel's attempts in turn: a "retry"
    is due again at once, so the next one follows. Other events are left unprepared."""
    outbox = Outbox(store, "test-worker")
    now = utcnow()
    [event] = [e for e in outbox.claim_events(now, 60, hold_transfers_s=0)
               if e.call_id == call_id and e.type == event_type]  # fmt: skip
    assert outbox.prepare(event, {}, list(attempts), now)
    for step in range(max((len(made) for made in attempts.values()), default=0)):
        at = now + timedelta(seconds=step + 1)
        for claimed in outbox.claim_due(at, 60, limit=100):
            made = attempts[claimed.channel] if claimed.event_id == event.id else []
            if step < len(made):
                outbox.record(claimed, made[step], at, retry_at=at)
    outbox.release()
