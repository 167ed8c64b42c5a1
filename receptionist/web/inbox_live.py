"""The inbox, live: new messages, colleagues' changes and the unread count pushed to every
open page as server-sent events, without a reload.

One watcher per web app looks at the call log for everyone: SQLite's `data_version`
says cheaply whether another connection (the service saving a message, the CLI) wrote
anything; only then is the inbox summary read again. Changes made through this web page
are announced at once by the handler that made them. Each page's stream then sends its
user what concerns the businesses they may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from aiohttp import web

from receptionist.core.logs import log
from receptionist.core.waiting import wait_set
from receptionist.store.log import Store
from receptionist.web.db import WebDb

logger = logging.getLogger(__name__)

POLL_S = 0.2  # how often the watcher asks SQLite whether anything was written
KEEPALIVE_S = 15.0
NEW_BATCH = 50  # new messages read per look; a bulk import is announced as a count
KEPT_CHANGES = 500  # changes remembered for streams that fell behind


@dataclass(frozen=True)
class Change:
    version: int
    message_id: int
    business: str
    kind: str  # "new", "handled", "reopen", "assign", "note", "callback"
    caller_name: str = ""  # for "new": what a desktop notification says


@dataclass(frozen=True)
class Summary:
    unread: dict[str, int]  # business -> messages still new
    latest: dict[str, int]  # business -> highest message id


def _data_version(store: Store) -> object:
    """Something that changes when another connection wrote: SQLite's data_version
    (a counter, nearly free); on PostgreSQL, the newest message and the new ones' count."""
    if store.sql.dialect.postgres:
        sql = ("SELECT (SELECT max(id) FROM messages) AS latest,"
               " (SELECT count(*) FROM messages WHERE status = 'new') AS unread")  # fmt: skip
        row = store.sql.query(sql)[0]
        return (row["latest"], row["unread"])
    return store.sql.query("PRAGMA data_version")[0]["data_version"]


def _unread(store: Store) -> dict[str, int]:
    """New messages per business: read through the status index, so only new rows count
    (not the whole table, which only grows)."""
    sql = "SELECT business, count(*) AS n FROM messages WHERE status = 'new' GROUP BY business"
    return {str(r["business"]): int(r["n"]) for r in store.sql.query(sql)}


def _latest(store: Store) -> dict[str, int]:
    sql = "SELECT business, max(id) AS latest FROM messages GROUP BY business"
    return {str(r["business"]): int(r["latest"] or 0) for r in store.sql.query(sql)}


def _new_since(store: Store, after: int) -> list[tuple[int, str, str]]:
    sql = "SELECT id, business, caller_name FROM messages WHERE id > ? ORDER BY id LIMIT ?"
    rows = store.sql.query(sql, [after, NEW_BATCH])
    return [(int(r["id"]), str(r["business"]), str(r["caller_name"] or "")) for r in rows]


class InboxWatch:
    """The inbox's state for every stream of one web app, and the changes since."""

    def __init__(self, db: WebDb) -> None:
        self.db = db
        self.version = 0
        self.summary = Summary({}, {})
        self.changes: deque[Change] = deque(maxlen=KEPT_CHANGES)
        self._changed = asyncio.Condition()
        self._seen_id = 0
        self._data_version: object = None

    async def start(self) -> None:
        """Read the state once before the first page asks for it; from then on the
        latest ids follow the new rows as they are seen."""

        def read(store: Store) -> Summary:
            return Summary(_unread(store), _latest(store))

        self.summary = await self.db.run(read)
        self._seen_id = max(self.summary.latest.values(), default=0)
        self._data_version = await self.db.run(_data_version)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            if await wait_set(stopping, POLL_S):
                return
            version = await self.db.run(_data_version)
            if version != self._data_version:
                self._data_version = version
                await self.refresh()

    async def refresh(self) -> None:
        """Read the summary and any new messages again, and wake the streams if it moved."""

        def read(store: Store) -> tuple[dict[str, int], list[tuple[int, str, str]]]:
            return _unread(store), _new_since(store, self._seen_id)

        unread, new = await self.db.run(read)
        latest = dict(self.summary.latest)
        for message_id, business, name in new:
            self._seen_id = max(self._seen_id, message_id)
            latest[business] = max(latest.get(business, 0), message_id)
            self._add(message_id, business, "new", name)
        summary = Summary(unread, latest)
        if summary != self.summary or new:
            self.summary = summary
            await self._wake()

    async def touched(self, message_id: int, business: str, kind: str) -> None:
        """A change made through this web page: announced now, not at the next look."""
        self._add(message_id, business, kind)
        self.summary = Summary(await self.db.run(_unread), self.summary.latest)
        await self._wake()

    def _add(self, message_id: int, business: str, kind: str, name: str = "") -> None:
        self.version += 1
        self.changes.append(Change(self.version, message_id, business, kind, name))

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, version: int, timeout: float) -> None:
        """Until something happens after `version` (or `timeout` passes)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.version > version)

    def view(self, visible: Sequence[str] | None, since: int) -> dict[str, object]:
        """What a user who sees `visible` (None: all) is told: unread, latest, changes."""

        def mine(business: str) -> bool:
            return visible is None or business in visible

        unread = sum(n for b, n in self.summary.unread.items() if mine(b))
        latest = max((n for b, n in self.summary.latest.items() if mine(b)), default=0)
        changes = [asdict(c) for c in self.changes if c.version > since and mine(c.business)]
        return {"unread": unread, "latest": latest, "changes": changes, "version": self.version}


async def stream(
    request: web.Request, watch: InboxWatch, visible: Sequence[str] | None, stopping: asyncio.Event
) -> web.StreamResponse:
    """Send the user's inbox state whenever it changes, until the client or server goes."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                 "X-Accel-Buffering": "no"}
    )  # fmt: skip
    await response.prepare(request)
    since, last = watch.version, ""
    quiet_since = time.monotonic()
    while not stopping.is_set() and request.transport and not request.transport.is_closing():
        view = watch.view(visible, since)
        since = watch.version
        payload = json.dumps(view)
        shown = json.dumps([view["unread"], view["latest"]])
        if view["changes"] or shown != last:
            await response.write(f"event: inbox\ndata: {payload}\n\n".encode())
            last, quiet_since = shown, time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            await response.write(b": keepalive\n\n")
            quiet_since = time.monotonic()
        # Woken by a change; the timeout also notices a client that left.
        await watch.wait(since, 1.0)
    log(logger, logging.DEBUG, "inbox stream closed")
    return response
