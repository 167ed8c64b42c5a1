"""Failover: two receptionist instances on one Asterisk, one killed with SIGKILL under load.

N callers (default 50) dial in and are shared by the dialplan between instances <app>-1
and <app>-2; once all hear the greeting, instance 1 is killed with SIGKILL. Then:

- new calls, placed once the killed process is gone: how many the surviving instance
  answered (greeting heard, in Stasis, no fallback reason) and how many fell back;
- the calls instance 1 had in progress: their fate WATCH_S later (still up but silent,
  hung up, or in the dialplan fallback). Reclaiming them is the restarted instance's job
  (a supervised worker comes back under the same app name); here nothing restarts it;
- the calls instance 2 had: still hearing audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.caller import Call, Dialer, Ear
from benchmarks.report import Figure
from benchmarks.stack import instance_homes, model_process, receptionist_process
from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from receptionist.service.instances import app_name
from tests.integration.harness import eventually
from tests.integration.live import SLUG

SETUP_CONCURRENCY = 8
WATCH_S = 5.0  # how long after the kill the in-progress calls are watched
ANSWER_TIMEOUT_S = 10.0


async def _owner(ari: AriClient, call: Call) -> str:
    return await ari.get_variable(call.channel_id, "RECEPTIONIST_INSTANCE_APP") or ""


async def _answered(ari: AriClient, call: Call, since: float) -> bool:
    """Greeting heard, and the caller is with the receptionist, not in the fallback."""
    assert call.leg is not None
    leg = call.leg
    with contextlib.suppress(TimeoutError):
        await eventually(lambda: leg.audible_since(since) is not None, ANSWER_TIMEOUT_S)
    reason = await ari.get_variable(call.channel_id, "RECEPTIONIST_FALLBACK_REASON")
    channel = await ari.get_channel(call.channel_id)
    in_stasis = channel is not None and channel.dialplan_context == "receptionist-stasis"
    return leg.audible_since(since) is not None and not reason and in_stasis


async def _fate(ari: AriClient, call: Call, since: float) -> str:
    """What became of a call in progress on the killed instance."""
    channel = await ari.get_channel(call.channel_id)
    if channel is None:
        return "hung up"
    if await ari.get_variable(call.channel_id, "RECEPTIONIST_FALLBACK_REASON"):
        return "fallback"
    assert call.leg is not None
    heard = [t for t in call.leg.heard_at if t > since + 0.5]
    return "still hearing audio" if heard else "up, silent"


async def run(
    sandbox: SandboxInfo, calls: int, new_calls: int, work: Path
) -> tuple[list[Figure], dict[str, Any]]:
    app = f"rx-fail-{uuid.uuid4().hex[:6]}"
    async with contextlib.AsyncExitStack() as stack:
        ari = await stack.enter_async_context(
            AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password)
        )
        _, url, _ = await stack.enter_async_context(
            model_process(0, 120 + calls * 0.3, 1.0, realtime_factor=1.05, turns=False)
        )
        one, _ = [
            await stack.enter_async_context(receptionist_process(sandbox, url, where, name))
            for where, name in instance_homes(work, app, 2)
        ]
        ear = await stack.enter_async_context(Ear())
        dialer = Dialer(ari, ear, app, SLUG, instances=2)
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def place() -> Call:
            async with gate:
                return await dialer.call()

        placed = await asyncio.gather(*(place() for _ in range(calls)))
        with contextlib.suppress(TimeoutError):
            await eventually(lambda: all(c.leg and c.leg.audible_since(0) for c in placed), 30)
        owners = [await _owner(ari, c) for c in placed]
        load = os.getloadavg()[0]
        one.process.kill()  # SIGKILL
        await one.process.wait()  # reaped: the kernel has closed its sockets
        killed_at = time.monotonic()
        fresh = [await dialer.call() for _ in range(new_calls)]
        answered = [await _answered(ari, c, killed_at) for c in fresh]
        fresh_owners = [await _owner(ari, c) for c in fresh]
        await asyncio.sleep(WATCH_S - (time.monotonic() - killed_at))
        victims = [c for c, o in zip(placed, owners, strict=True) if o == app_name(app, 1)]
        others = [c for c, o in zip(placed, owners, strict=True) if o == app_name(app, 2)]
        fates = [await _fate(ari, c, killed_at) for c in victims]
        survivors = [await _fate(ari, c, killed_at) for c in others]
        await asyncio.gather(*(c.hang_up() for c in placed + fresh), return_exceptions=True)
    raw: dict[str, Any] = {
        "calls": calls,
        "on_killed": len(victims),
        "on_survivor": len(others),
        "new_calls": new_calls,
        "new_answered": sum(answered),
        "new_fallbacks": new_calls - sum(answered),
        "new_by_survivor": fresh_owners.count(app_name(app, 2)),
        "killed_fates": {f: fates.count(f) for f in sorted(set(fates))},
        "survivor_fates": {f: survivors.count(f) for f in sorted(set(survivors))},
        "watch_s": WATCH_S,
        "load_avg_1m": load,
    }
    print(summary_line(raw), flush=True)
    return figures(raw), raw


def summary_line(raw: dict[str, Any]) -> str:
    return (
        f"failover: {raw['calls']} calls ({raw['on_killed']} on the killed instance), "
        f"new calls {raw['new_answered']}/{raw['new_calls']} answered by the other "
        f"({raw['new_fallbacks']} fallbacks); killed instance's calls after "
        f"{raw['watch_s']:g} s: {raw['killed_fates']}; the other's: {raw['survivor_fates']}; "
        f"load {raw['load_avg_1m']:.2f}"
    )


def figures(raw: dict[str, Any]) -> list[Figure]:
    sec = f"failover@{raw['calls']}"
    note = f"load avg {raw['load_avg_1m']:.2f}"
    fates = ", ".join(f"{n} {f}" for f, n in raw["killed_fates"].items()) or "none"
    return [
        Figure(
            sec,
            "new calls answered after kill -9",
            raw["new_answered"],
            "calls",
            f">= {raw['new_calls']}",
            note=note,
        ),
        Figure(sec, "new calls to the fallback", raw["new_fallbacks"], "calls", "<= 0"),
        Figure(
            sec,
            "calls in progress on the killed instance",
            raw["on_killed"],
            "calls",
            note=f"after {raw['watch_s']:g} s: {fates}",
        ),
    ]
