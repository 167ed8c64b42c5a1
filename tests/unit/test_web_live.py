"""The live view's snapshot of calls in progress, and its event stream in a client."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from receptionist.web.live import live_calls
from tests.unit.test_web_access import client, login
from tests.web_site import make_site, serving


def call(
    call_id: str, business: str = "dental", *, answered: float = 0.0, speaking: bool = False,
    talking: bool = True, ending: str = "",
) -> Any:  # fmt: skip
    """A stand-in with the attributes of receptionist.call.call.Call the snapshot reads."""
    writer = SimpleNamespace(current_item="item-1" if speaking else None)
    return SimpleNamespace(
        id=call_id, business=SimpleNamespace(slug=business), end_reason=ending,
        channel=SimpleNamespace(caller_number="+15550001111"), answered_at=answered,
        conversation=SimpleNamespace(writer=writer) if talking else None,
    )  # fmt: skip


def test_snapshot_says_what_each_call_is_doing_and_leaves_out_ending_ones() -> None:
    now = time.monotonic()
    calls = {
        "a": call("a", answered=now - 65, speaking=True),
        "b": call("b", answered=now - 5),
        "c": call("c"),
        "d": call("d", answered=now - 2, talking=False),
        "e": call("e", answered=now - 30, ending="caller_hangup"),
    }
    found = {c.id: c for c in live_calls(calls)}
    assert {k: c.activity for k, c in found.items()} == {
        "a": "speaking", "b": "listening", "c": "answering", "d": "connecting",
    }  # fmt: skip
    elapsed = time.time() * 1000 - found["a"].started_ms
    assert 64_000 <= elapsed <= 66_500
    assert [c.id for c in live_calls(calls)] == ["a", "b", "d", "c"]  # oldest first


async def test_event_stream_sends_changes_and_only_visible_businesses(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    calls: dict[str, Any] = {}
    async with serving(site.settings, site.businesses, lambda: calls) as url, client(url) as http:
        await login(http, "staff-a")
        async with http.get("/live/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert await _next_event(stream) == []
            calls["x"] = call("x", "plumbing", answered=time.monotonic())
            calls["y"] = call("y", "dental", answered=time.monotonic())
            assert [c["id"] for c in await _next_event(stream)] == ["y"]
            del calls["y"]
            assert await _next_event(stream) == []


async def _next_event(stream: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        while line := await stream.content.readline():
            if line.startswith(b"data: "):
                data: list[dict[str, Any]] = json.loads(line[6:])
                return data
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), 5)
