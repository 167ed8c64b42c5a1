"""`serve`'s event loop: uvloop when installed (the `fast` extra), asyncio when asked."""

from __future__ import annotations

import asyncio

from receptionist.service import event_loop


async def _loop_type() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_asyncio_when_asked() -> None:
    assert event_loop.loop_factory("asyncio") == ("asyncio", None)
    assert event_loop.run(_loop_type(), "asyncio").startswith("asyncio")


def test_uvloop_when_installed() -> None:
    # The dev extra installs uvloop (as the `fast` extra does).
    name, _ = event_loop.loop_factory("auto")
    assert name == "uvloop"
    assert event_loop.run(_loop_type(), "auto").startswith("uvloop")
