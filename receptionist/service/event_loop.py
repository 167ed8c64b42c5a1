"""The event loop `serve` runs on: uvloop when installed (`pip install 'receptionist[fast]'`),
else asyncio's own. uvloop's libuv loop spends less CPU per socket read and write, which
is most of what a call costs the receptionist (see docs/performance.md)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Choice = Literal["auto", "asyncio", "uvloop"]


def loop_factory(choice: Choice) -> tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]:
    """(name, factory) of the loop to use; factory None means asyncio's default."""
    if choice == "asyncio" or (choice == "auto" and importlib.util.find_spec("uvloop") is None):
        return "asyncio", None
    import uvloop  # ImportError here when "uvloop" was asked for and is not installed

    return "uvloop", uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: Choice = "auto") -> T:
    """asyncio.run(main) on the chosen loop."""
    _, factory = loop_factory(choice)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
