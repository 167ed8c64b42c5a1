"""Take back what a process that died mid-call left: callers in Stasis and open call rows.

Failure policy: a caller is never left in Stasis with nobody driving it, and every
call row reaches an end. When this process (re)connects to ARI, every channel in our
Stasis app that no running call owns is handed to the dialplan fallback (which
Asterisk plays by itself), the media legs and bridges no call owns are removed, and
call rows that no running call owns are closed with the reason why, except those whose
channel Asterisk still has: with several instances on one call log, those are another
instance's live calls (or callers followed after a handoff), not this process's past.

Why not let Asterisk notice the dead app by itself? Asterisk 22.5+ can open the ARI
websocket itself (`websocket_client.conf`, `connection_type = per_call_config`); when
such a per-call connection fails, Asterisk marks the call failed and returns it to the
dialplan at once. But that turns the receptionist into a websocket server that Asterisk
dials for every call and talks ARI over, a different process model from the inbound
websocket every supported Asterisk (20, 21, FreePBX) offers, and a restarted process
would still find calls whose connection reconnected to it. With an inbound websocket,
Asterisk keeps the app and its channels after the connection drops, so the restarted
process (under systemd or docker `restart`) reclaims them: with a supervisor that
restarts at once, callers hear the fallback within a few seconds (see docs).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from receptionist.ari import AriClient, AriError
from receptionist.call.dialplan import MEDIA_PREFIX, hand_to_fallback
from receptionist.core.logs import log
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.settings import Settings
from receptionist.store.protocols import Reclaim

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reclaimed:
    callers: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    bridges: tuple[str, ...] = ()


async def reclaim_channels(
    ari: AriClient,
    app_name: str,
    *,
    owned_channels: Collection[str] = (),
    owned_bridges: Collection[str] | None = (),
    reason: FallbackReason = FallbackReason.SERVICE_RESTART,
    caught_up: Callable[[], Awaitable[None]] | None = None,
) -> Reclaimed:
    """Hand every caller in `app_name` that no running call owns to the fallback,
    and remove the media legs and bridges no running call owns.

    `owned_bridges=None` leaves bridges alone: while a call is being set up its bridge
    exists a moment before the call knows its id, so only a process running no call can
    tell a left-over bridge from a new one. `caught_up` (ari/barrier.py) is awaited
    after listing the app, so that the owners passed in (live collections) include every
    call whose StasisStart was on its way.
    """
    channel_ids, bridge_ids = await ari.application(app_name)
    if caught_up is not None:
        await caught_up()
    orphans = [c for c in channel_ids if c not in owned_channels]
    callers = [c for c in orphans if not c.startswith(MEDIA_PREFIX)]
    media = [c for c in orphans if c.startswith(MEDIA_PREFIX)]
    bridges = [] if owned_bridges is None else [b for b in bridge_ids if b not in owned_bridges]
    # Callers first and together: each one is hearing nothing until it is handed over.
    handed = await asyncio.gather(*(hand_to_fallback(ari, c, reason) for c in callers))
    cleanup = [ari.hangup(c) for c in media] + [ari.destroy_bridge(b) for b in bridges]
    for result in await asyncio.gather(*cleanup, return_exceptions=True):
        if isinstance(result, AriError):
            log(logger, logging.WARNING, "reclaim cleanup failed", error=str(result))
        elif isinstance(result, BaseException):
            raise result
    done = Reclaimed(
        tuple(c for c, ok in zip(callers, handed, strict=True) if ok), tuple(media), tuple(bridges)
    )
    if orphans or bridges:
        log(logger, logging.WARNING, "reclaimed calls left in stasis", app=app_name,
            callers=len(done.callers), media_legs=len(media), bridges=len(bridges),
            reason=reason)  # fmt: skip
    return done


async def close_unowned_rows(
    store: Reclaim, owned: Collection[str], outcome: Outcome, *, asterisk: str
) -> int:
    """End every open call row of Asterisk server `asterisk` that no running call owns,
    with `outcome`; how many. Other servers' rows are theirs to judge: their channels
    are not among this server's, so a live call there would look gone from here.

    A call log that cannot be written (full disk, broken file) is logged, never a reason
    to stop serving: calls still reach a person, and a later sweep closes the rows.
    """
    try:
        closed = await store.close_open_calls(frozenset(owned), outcome, asterisk=asterisk)
    except sqlite3.Error as exc:
        log(logger, logging.ERROR, "open call rows not closed", error=repr(exc))
        return 0
    if closed:
        log(logger, logging.WARNING, "closed call rows left open", calls=closed, outcome=outcome)
    return closed


async def reclaim_at_start(settings: Settings) -> tuple[str, ...]:
    """Reclaim the app's callers before the rest of the service is imported and set up;
    the callers handed to the fallback (the app closes their rows once it runs).

    A supervisor restarts a killed service at once, but loading the model SDK and the
    call flow takes a second or two: callers left in Stasis should not wait for that.
    """
    if settings.ari_password is None:
        return ()
    password = settings.ari_password.get_secret_value()
    async with AriClient(settings.ari_url, settings.ari_user, password, timeout=2.0) as ari:
        try:
            return (await reclaim_channels(ari, settings.ari_app)).callers
        except AriError as exc:  # Asterisk down: the app reclaims when it connects
            log(logger, logging.INFO, "early reclaim skipped", error=str(exc))
            return ()


SWEEP_EVERY_S = 300.0
