"""The inbox's event stream: new messages (written by another connection, as the service
does), colleagues' changes and the unread count, only for businesses the user may see."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from tests.unit.store_backends import database_fixture  # noqa: F401 (each test on both engines)
from tests.unit.test_web_access import client, login
from tests.web_site import make_site, serving


async def _next(stream: aiohttp.ClientResponse) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while line := await stream.content.readline():
            if line.startswith(b"data: "):
                data: dict[str, Any] = json.loads(line[6:])
                return data
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), 10)


async def test_new_messages_and_colleagues_changes_arrive_for_visible_businesses(
    tmp_path: Path, database: Path | PostgresUrl
) -> None:
    site = make_site(tmp_path, database=database)
    writer = Store(site.database)  # another connection, like the service's
    async with (
        serving(site.settings, site.businesses) as url,
        client(url) as staff,
        client(url) as admin,
    ):
        await login(staff, "staff-a")
        csrf = await login(admin, "admin")
        async with staff.get("/inbox/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            first = await _next(stream)
            assert first["unread"] == 1 and first["changes"] == []
            # Another business's message says nothing to staff-a...
            writer.add_message(None, "plumbing", "Pipe Caller", "+15550009999", "Leak")
            # ...their own business's does, with the caller's name for a notification.
            new_id = writer.add_message(None, "dental", "Tooth Caller", "+15550008888", "Ow")
            event = await _next(stream)
            assert event["unread"] == 2
            assert [(c["kind"], c["message_id"], c["caller_name"]) for c in event["changes"]] == [
                ("new", new_id, "Tooth Caller")
            ]
            # A colleague marks it handled in their own browser.
            done = await admin.post(f"/messages/{new_id}/handled", data={"csrf": csrf})
            assert done.status == 200
            event = await _next(stream)
            assert event["unread"] == 1
            assert [(c["kind"], c["message_id"]) for c in event["changes"]] == [("handled", new_id)]
    writer.close()
