"""A call's model usage and its estimated cost, written to the call log as the call ends."""

from __future__ import annotations

import logging

from receptionist.business import Business
from receptionist.business.model_choice import OpenAIRealtime, prices_for
from receptionist.core.logs import log
from receptionist.model import ModelSession
from receptionist.settings import Settings
from receptionist.store.log import StoreError
from receptionist.store.protocols import CallWriter
from receptionist.store.usage import CallUsage, record_usage

logger = logging.getLogger(__name__)


def call_usage(
    call_id: str, settings: Settings, business: Business, model: ModelSession
) -> CallUsage:
    choice = business.model or settings.model or OpenAIRealtime()
    prices = prices_for(choice, settings.prices)
    used = model.usage.as_dict()
    if prices is None:
        return CallUsage(call_id, choice.provider, used, None, None, None)
    cost = round(prices.estimate(used), 6)
    return CallUsage(
        call_id, choice.provider, used, cost, prices.currency, prices.taken.isoformat()
    )


async def save_usage(store: CallWriter, usage: CallUsage) -> None:
    """Write it; a failure costs the figure, never the call."""
    log(logger, logging.INFO, "call usage", provider=usage.provider, cost=usage.cost,
        currency=usage.currency, **usage.usage)  # fmt: skip
    try:
        await store.run(record_usage, usage)
    except StoreError as exc:
        log(logger, logging.ERROR, "call usage not logged", error=repr(exc))
