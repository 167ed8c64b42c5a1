"""The web page's own connection to the call log, run on one thread like AsyncStore's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from receptionist.store.engine import Location
from receptionist.store.log import Store

R = TypeVar("R")


class WebDb:
    """`await db.run(fn)` calls `fn(store)` on the web page's database thread.

    A connection of its own (SQLite's WAL, or PostgreSQL, lets it read while the service
    writes), so a slow page never delays a call's writes queued on the service's store thread.
    """

    def __init__(self, location: Location | str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-db")
        self._store = self._executor.submit(Store, location)

    async def run(self, fn: Callable[[Store], R]) -> R:
        def call() -> R:
            return fn(self._store.result())

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def close(self) -> None:
        def close() -> None:
            if self._store.exception() is None:
                self._store.result().close()

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, close)
        finally:
            self._executor.shutdown(wait=False)
