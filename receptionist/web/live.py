"""Calls in progress, read from the running app without changing it, pushed to browsers
as server-sent events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from receptionist.core.waiting import wait_set

if TYPE_CHECKING:
    from receptionist.call.call import Call

POLL_S = 0.2  # how often the live view looks at the calls: well inside the 1 s it promises
KEEPALIVE_S = 15.0  # a comment now and then keeps proxies from closing a quiet stream


@dataclass(frozen=True)
class LiveCall:
    id: str
    business: str
    caller: str
    started_ms: int  # wall clock (epoch ms) of the answer; browsers count elapsed time from it
    activity: str


LiveSource = Callable[[], "Mapping[str, Call]"]


def live_calls(calls: Mapping[str, Call]) -> list[LiveCall]:
    """A snapshot of the calls the app holds, oldest first; calls already ending are left out."""
    now_wall, now_mono = time.time(), time.monotonic()
    out = []
    for call in list(calls.values()):
        if call.end_reason:  # finishing: the caller is gone or handed over
            continue
        answered = call.answered_at or now_mono
        out.append(
            LiveCall(
                id=call.id,
                business=call.business.slug,
                caller=call.channel.caller_number or "unknown",
                # Whole seconds: the two clocks' jitter must not make every look a change.
                started_ms=round(now_wall - (now_mono - answered)) * 1000,
                activity=_activity(call),
            )
        )
    return sorted(out, key=lambda c: (c.started_ms, c.id))


def _activity(call: Call) -> str:
    if not call.answered_at:
        return "answering"
    if call.conversation is None:
        return "connecting"
    if call.conversation.writer.current_item is not None:
        return "speaking"
    return "listening"


async def stream(
    request: web.Request,
    calls: Callable[[], list[LiveCall]],
    stopping: asyncio.Event,
) -> web.StreamResponse:
    """Send the list of calls whenever it changes, until the client or the server goes."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    last, quiet_since = "", time.monotonic()
    # aiohttp does not cancel a handler whose client left: look for that at every poll.
    while not stopping.is_set() and request.transport and not request.transport.is_closing():
        payload = json.dumps([asdict(c) for c in calls()])
        if payload != last:
            await response.write(f"event: calls\ndata: {payload}\n\n".encode())
            last, quiet_since = payload, time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            await response.write(b": keepalive\n\n")
            quiet_since = time.monotonic()
        await wait_set(stopping, POLL_S)
    return response
