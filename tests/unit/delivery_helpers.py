"""Shared set-up for the delivery tests: a business with channels, a running worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml

from receptionist.business import Business, load_business
from receptionist.delivery.worker import DeliveryStats, DeliveryWorker, RetryPolicy

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
