"""A barrier in an app's event stream: wait until what Asterisk queued for us has arrived.

Asterisk queues an app's events in order. A user event sent to the app now arrives after
every event queued before it, so once it is back, every StasisStart for a channel that
was already in the app has been handled. The reclaim after a (re)connection needs that:
a call arriving at that moment is in the app's channel list before its StasisStart is
read, and without the barrier it would look like a caller nobody owns.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

from receptionist.ari.models import Event

USER_EVENT = "ChannelUserevent"


class UserEvents(Protocol):
    async def user_event(self, app: str, name: str) -> None: ...


class EventBarrier:
    def __init__(self, ari: UserEvents, app: str) -> None:
        self.ari = ari
        self.app = app
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def on_event(self, event: Event) -> None:
        """Feed every event of the app, in the order read."""
        if event.type == USER_EVENT:
            waiter = self._waiting.pop(str(event.raw.get("eventname", "")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def caught_up(self, timeout: float = 5.0) -> None:
        """Return once every event queued for the app before this call has been fed.
        Raises TimeoutError if the marker does not come back in time, AriError if
        Asterisk refuses it."""
        name = f"receptionist-barrier-{uuid.uuid4().hex}"
        waiter = self._waiting[name] = asyncio.get_running_loop().create_future()
        try:
            await self.ari.user_event(self.app, name)
            await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiting.pop(name, None)
