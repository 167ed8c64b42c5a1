"""The delivery worker inside `serve`: events -> documents -> one delivery per channel -> sent.

At least once: a delivery is marked sent only after the receiver said so, and a
worker killed at any moment leaves leased rows that are taken again when the
lease expires. Receivers drop repeats by the event id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp

from receptionist.business.models import Business
from receptionist.business.notifications import EmailChannel
from receptionist.core.logs import log
from receptionist.core.waiting import wait_set
from receptionist.delivery.channels import AnyChannel, channel_named, channels_for
from receptionist.delivery.email import ERROR_TEXT_MAX, send_email
from receptionist.delivery.outbox import Attempt, Claimed, Outbox, PendingEvent, utcnow
from receptionist.delivery.payload import build_payload
from receptionist.delivery.summary import summarize
from receptionist.delivery.webhook import send_webhook
from receptionist.store.engine import Location, wakeups
from receptionist.store.log import Store, StoreError

logger = logging.getLogger(__name__)
T = TypeVar("T")
LEASE_MARGIN_S = 10.0
STATS_EVERY_S = 1.0
LISTENING_POLL_S = 1.0  # when new events wake the worker, polling only finds retries due


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: the n-th retry waits between d/2 and d,
    d = min(cap, base * 2^(n-1)), so retries after an outage do not arrive in step."""

    base_s: float = 2.0
    cap_s: float = 600.0
    max_attempts: int = 12

    def delay(self, attempts: int) -> float | None:
        """Seconds to wait after `attempts` attempts; None when they are used up."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass
class DeliveryStats:
    """What /metrics and /health report."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    oldest_pending_s: float = 0.0


class DeliveryWorker:
    def __init__(
        self,
        database: Location | str,
        businesses: dict[str, Business],
        *,
        policy: RetryPolicy | None = None,
        poll_s: float = 0.05,
        concurrency: int = 16,
        hold_transfers_s: float = 45.0,  # longer than the transfer's Dial() timeout
        stats: DeliveryStats | None = None,
        clock: Callable[[], datetime] = utcnow,  # tests pass a fake one to skip backoff waits
    ) -> None:
        self.database = database
        self.businesses = businesses
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self.concurrency = concurrency
        self.hold_transfers_s = hold_transfers_s
        self.stats = stats or DeliveryStats()
        self.clock = clock
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        timeouts = [c.timeout_seconds for b in businesses.values() for c in channels_for(b)]
        timeouts += [b.notifications.summary.timeout_seconds
                     for b in businesses.values() if b.notifications.summary]  # fmt: skip
        self.lease_s = LEASE_MARGIN_S + max(timeouts, default=LEASE_MARGIN_S)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._outbox: Outbox | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._listening = False

    async def _db(self, work: Callable[[Outbox], T]) -> T:
        """Run on the worker's own database thread (sqlite connections stay on one thread)."""

        def run() -> T:
            if self._outbox is None:
                # Not durable: a crash may lose a claim or a "sent" mark, which only means
                # sending again. On SQLite each fsync holds the write lock, and the call
                # flow's writes, which must be durable, should never wait behind ours.
                store = Store(self.database, durable=False)
                self._outbox = Outbox(store, self.owner)
            return work(self._outbox)

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def run(self) -> None:
        log(logger, logging.INFO, "delivery worker started", owner=self.owner)
        # On PostgreSQL each committed event wakes the worker at once (LISTEN/NOTIFY);
        # the poll stays, for retries coming due and as the SQLite way.
        listener = asyncio.create_task(self._listen(), name="outbox-listen")
        try:
            async with aiohttp.ClientSession() as session:
                try:
                    await self._loop(session)
                finally:
                    # Before the session closes: a send cut short by closing its
                    # connection would be recorded as a failed attempt.
                    for task in self._tasks:
                        task.cancel()
                    await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            outbox = self._outbox
            if outbox is not None:
                # After the tasks above have stopped, on the database thread, in order.
                self._executor.submit(outbox.release)
                self._executor.submit(outbox.store.close)
            self._executor.shutdown(wait=False)

    async def _loop(self, session: aiohttp.ClientSession) -> None:
        next_stats = 0.0
        loop = asyncio.get_running_loop()
        while True:
            took = 0
            try:
                took = await self._tick(session)
                if loop.time() >= next_stats:
                    next_stats = loop.time() + STATS_EVERY_S
                    age = await self._db(lambda o: o.oldest_pending_age(self.clock()))
                    self.stats.oldest_pending_s = age
            except StoreError as exc:  # e.g. locked past the busy timeout, server gone
                log(logger, logging.ERROR, "delivery worker could not use the outbox",
                    error=str(exc))  # fmt: skip
            if not took:  # idle or every slot busy: wait for a free slot or the next poll
                self._wake.clear()
                poll = max(self.poll_s, LISTENING_POLL_S) if self._listening else self.poll_s
                await wait_set(self._wake, poll)

    async def _listen(self) -> None:
        async for _ in wakeups(self.database, "receptionist_outbox"):
            self._listening = True
            self._wake.set()

    async def _tick(self, session: aiohttp.ClientSession) -> int:
        """Take what is ready, as far as free slots allow; how many were taken."""
        now, hold, lease = self.clock(), self.hold_transfers_s, self.lease_s
        free = self.concurrency - len(self._tasks)
        if free <= 0 or not await self._db(lambda o: o.has_work(now, hold_transfers_s=hold)):
            return 0
        events = await self._db(
            lambda o: o.claim_events(now, lease, hold_transfers_s=hold, limit=free)
        )
        for event in events:
            self._spawn(self._prepare(event))
        free -= len(events)
        due = await self._db(lambda o: o.claim_due(now, lease, free))
        for claimed in due:
            self._spawn(self._deliver(session, claimed))
        return len(events) + len(due)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a free slot, and perhaps deliveries just prepared
        if not task.cancelled() and (exc := task.exception()) is not None:
            # Its lease runs out and the work is taken again; say why it stopped.
            log(logger, logging.ERROR, "delivery task failed", error=repr(exc))

    async def _prepare(self, event: PendingEvent) -> None:
        business = self.businesses.get(event.business)
        configured = channels_for(business) if business else ()
        channels = [c.name for c in configured if event.type in c.events and c.name]
        # No channel wants it: no document either, so no copy of caller text is kept.
        payload = (
            await self._db(lambda o: build_payload(o.store, event, business)) if channels else None
        )
        if event.type == "call.ended" and payload is not None:
            # Bounded by the summary's own timeout; any failure falls back to outcomes.
            config = business.notifications.summary if business else None
            payload["summary"] = await summarize(config, payload)
        prepared = await self._db(lambda o: o.prepare(event, payload, channels, self.clock()))
        # INFO only when something will be sent: a bulk import into a business with no
        # channel for the event would otherwise log one line per row.
        level = logging.INFO if channels and prepared else logging.DEBUG
        log(logger, level, "event ready", event=event.type, event_id=event.id,
            call_id=event.call_id, channels=",".join(channels) or "none",
            dropped=not prepared or None)  # fmt: skip

    async def _attempt(
        self, session: aiohttp.ClientSession, channel: AnyChannel, claimed: Claimed
    ) -> Attempt:
        """One send. The senders turn every failure they know into an Attempt; anything
        else still counts as an attempt (retried, then failed with its reason), so no
        delivery can stay pending with no attempts, taken again at every lease expiry."""
        try:
            if isinstance(channel, EmailChannel):
                return await send_email(channel, claimed.payload)
            return await send_webhook(session, channel, claimed.payload)
        except Exception as exc:  # not hidden: logged with its traceback, kept as the error
            logger.exception("delivery attempt raised delivery=%s channel=%s", claimed.id,
                             claimed.channel)  # fmt: skip
            return Attempt("retry", None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX])

    async def _deliver(self, session: aiohttp.ClientSession, claimed: Claimed) -> None:
        started = self.clock()
        business = self.businesses.get(claimed.business)
        channel = channel_named(business, claimed.channel) if business else None
        if channel is None:
            attempt = Attempt("failed", error="channel is no longer configured")
        else:
            attempt = await self._attempt(session, channel, claimed)
        wait = self.policy.delay(claimed.attempts + 1) if attempt.result == "retry" else None
        retry_at = started + timedelta(seconds=wait) if wait is not None else None
        result = await self._db(lambda o: o.record(claimed, attempt, started, retry_at))
        if result == "sent":
            self.stats.sent += 1
        elif result == "retry":
            self.stats.retried += 1
        else:
            self.stats.failed += 1
        call_id = (claimed.payload.get("call") or {}).get("id")
        level = logging.INFO if result == "sent" else logging.WARNING
        log(logger, level, f"delivery {result}", delivery=claimed.id, event=claimed.event_type,
            channel=claimed.channel, status=attempt.status_code, error=attempt.error,
            retry_in_s=round(wait, 1) if wait is not None else None, call_id=call_id)  # fmt: skip
