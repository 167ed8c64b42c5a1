"""Two small asyncio steps the call flow uses: run a step later, and best-effort cleanup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from receptionist.ari import AriError
from receptionist.logs import log

logger = logging.getLogger(__name__)


async def after(delay: float, step: Callable[[], Awaitable[None]]) -> None:
    await asyncio.sleep(delay)
    await step()


async def quietly(step: Awaitable[None]) -> None:
    """Best-effort cleanup: the thing may already be gone, which is fine."""
    try:
        await step
    except AriError as exc:
        log(logger, logging.DEBUG, "cleanup step failed", error=str(exc))
