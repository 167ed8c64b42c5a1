"""The web page's own connection to the call log, run on one thread like AsyncStore's,
and a small pool of its own for password hashing, which must never hold that thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from receptionist.store.engine import Location
from receptionist.store.log import Store
from receptionist.web.timing import add_db

R = TypeVar("R")
# scrypt at the stored cost takes ~0.3 s and 128 MiB: two at once bound both the memory
# a burst of logins takes and the cores it keeps from everything else.
HASH_WORKERS = 2
HASH_NICE = 10


def _background() -> None:
    """Lower this hashing thread's CPU priority (Linux nice is per thread): a burst of
    logins, or someone guessing passwords, then takes only what pages leave."""
    with contextlib.suppress(OSError, AttributeError):  # elsewhere: same priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


class WebDb:
    """`await db.run(fn)` calls `fn(store)` on the web page's database thread.

    A connection of its own (SQLite's WAL, or PostgreSQL, lets it read while the service
    writes), so a slow page never delays a call's writes queued on the service's store thread.
    """

    def __init__(self, location: Location | str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-db")
        self._hashing = ThreadPoolExecutor(
            HASH_WORKERS, thread_name_prefix="web-hash", initializer=_background
        )
        self._store = self._executor.submit(Store, location)

    async def run(self, fn: Callable[[Store], R]) -> R:
        def call() -> R:
            return fn(self._store.result())

        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:  # queueing behind other pages' queries counts too: it is what they wait
            add_db((time.perf_counter() - started) * 1000)

    async def hash(self, fn: Callable[[], R]) -> R:
        """`fn()` (a password hash or check) on the hashing pool, off the database thread:
        logins in flight never stall the pages other staff are loading."""
        return await asyncio.get_running_loop().run_in_executor(self._hashing, fn)

    async def close(self) -> None:
        def close() -> None:
            if self._store.exception() is None:
                self._store.result().close()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, close)
        finally:
            self._executor.shutdown(wait=False)
            self._hashing.shutdown(wait=False)
