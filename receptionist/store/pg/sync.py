"""The PostgreSQL call log for synchronous code (the CLI): Store's methods, each one
blocking call into AsyncPgStore on a private event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from receptionist.store.pg.store import AsyncPgStore
from receptionist.store.pg.url import PostgresUrl

P = ParamSpec("P")
R = TypeVar("R")


def _blocking(
    method: Callable[Concatenate[AsyncPgStore, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[PgStore, P], R]:
    def run(self: PgStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound: Callable[P, Coroutine[Any, Any, R]] = getattr(self.store, method.__name__)
        return self._runner.run(bound(*args, **kwargs))

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run


class PgStore:
    """Like Store (sqlite-utils), on PostgreSQL: connects and migrates when made."""

    def __init__(self, url: PostgresUrl) -> None:
        self._runner = asyncio.Runner()
        self.store = AsyncPgStore(url)
        try:
            self._runner.run(self.store.open())
        except BaseException:
            self._runner.close()
            raise

    def close(self) -> None:
        try:
            self._runner.run(self.store.close())
        finally:
            self._runner.close()

    start_call = _blocking(AsyncPgStore.start_call)
    add_turn = _blocking(AsyncPgStore.add_turn)
    add_tool_call = _blocking(AsyncPgStore.add_tool_call)
    finish_tool_call = _blocking(AsyncPgStore.finish_tool_call)
    add_message = _blocking(AsyncPgStore.add_message)
    add_recording = _blocking(AsyncPgStore.add_recording)
    add_booking = _blocking(AsyncPgStore.add_booking)
    add_outcome = _blocking(AsyncPgStore.add_outcome)
    mark_answered = _blocking(AsyncPgStore.mark_answered)
    end_call = _blocking(AsyncPgStore.end_call)
    mark_handled = _blocking(AsyncPgStore.mark_handled)
    list_calls = _blocking(AsyncPgStore.list_calls)
    resolve_call_id = _blocking(AsyncPgStore.resolve_call_id)
    get_call = _blocking(AsyncPgStore.get_call)
    list_messages = _blocking(AsyncPgStore.list_messages)
    get_message = _blocking(AsyncPgStore.get_message)
    list_bookings = _blocking(AsyncPgStore.list_bookings)
