"""Best-effort cleanup for the call flow: ARI steps whose target may already be gone."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from receptionist.ari import AriError
from receptionist.core.logs import log

logger = logging.getLogger(__name__)


async def quietly(step: Awaitable[None]) -> None:
    """Best-effort cleanup: the thing may already be gone, which is fine."""
    try:
        await step
    except AriError as exc:
        log(logger, logging.DEBUG, "cleanup step failed", error=str(exc))
