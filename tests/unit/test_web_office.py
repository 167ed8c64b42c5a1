"""The office page's own rules: times in the business's zone, named; tool calls told to
staff in their words, never the model's; logins hash off the database thread."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from receptionist.store import users as users_module
from receptionist.store.log import Store
from receptionist.store.records import ToolCallRecord
from receptionist.store.timeline import tool_summary
from receptionist.tools.call_tools import TOOL_CUT_OFF, TOOL_RUNNING
from tests.unit.test_web_access import client, login
from tests.web_site import Site, make_site, serving


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


@pytest.fixture
def tokyo_server() -> Iterator[None]:
    """The server's own clock in a zone neither business is in."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    mp.undo()
    time.tzset()


async def test_times_are_the_business_zone_with_the_zone_named(
    site: Site, tokyo_server: None
) -> None:
    # 02:28 UTC is 21:28 the evening before in New York (the example business's zone).
    at = datetime(2026, 12, 7, 2, 28, tzinfo=UTC)
    store = Store(site.database)
    store.start_call("late", "dental", "+15550002222", "late", at=at)
    store.add_message("late", "dental", "Late Caller", "+15550002222", "Evening call", at=at)
    store.close()
    async with serving(site.settings, site.businesses) as url, client(url) as http:
        await login(http, "staff-a")
        for path in ("/inbox", "/calls", "/calls/late"):
            page = await (await http.get(path)).text()
            assert "2026-12-06 21:28 EST" in page, path
            assert "2026-12-07 11:28" not in page, path  # the server's Tokyo time
        # A day filter means the office's day: the evening call is on the 6th there.
        found = await (await http.get("/inbox?since=2026-12-06&until=2026-12-06")).text()
        assert "Late Caller" in found
        later = await (await http.get("/inbox?since=2026-12-07")).text()
        assert "Late Caller" not in later


async def test_the_call_page_tells_tool_calls_to_staff_not_the_model(site: Site) -> None:
    store = Store(site.database)
    model_text = (
        "Saved message number 9. Callback number 5 5 5. Tell the caller the team will call "
        "them back."
    )
    arguments = '{"caller_name": "Ann Lee", "callback_number": "+15550003333", "message": "x"}'
    store.add_tool_call("call-a", "take_message", arguments, model_text, 2.0)
    store.add_tool_call("call-a", "lookup_faq", '{"question": "parking?"}',
                        "No answer for that in the FAQ. Say you don't know.", 1.0)  # fmt: skip
    store.close()
    async with serving(site.settings, site.businesses) as url, client(url) as http:
        await login(http, "staff-a")
        page = await (await http.get("/calls/call-a")).text()
    assert "Message saved: Ann Lee, +15550003333" in page
    assert "No FAQ answer: parking?" in page
    for model_words in ("Tell the caller", "Saved message number", "Say you don", "FAQ. Say"):
        assert model_words not in page


async def test_password_hashing_runs_off_the_database_thread(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a login's scrypt is in progress, another user's inbox still loads."""
    real = users_module.verify_password
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def held(password: str, stored: str) -> bool:
        if password == "wrong password!":  # only the login under test is held
            threads.append(threading.current_thread().name)
            started.set()
            release.wait(30)
        return real(password, stored)

    async with serving(site.settings, site.businesses) as url, client(url) as reader:
        await login(reader, "admin")
        monkeypatch.setattr(users_module, "verify_password", held)
        async with client(url) as intruder:
            page = await (await intruder.get("/login")).text()
            csrf = page.split('name="csrf" value="')[1].split('"')[0]
            form = {"username": "staff-a", "password": "wrong password!", "csrf": csrf}
            attempt = asyncio.create_task(intruder.post("/login", data=form))
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, started.wait, 30)
            try:
                # Bounded so a stalled page fails the test instead of hanging it.
                inbox = await asyncio.wait_for(reader.get("/inbox"), 10)
                assert inbox.status == 200 and "Caller of dental" in await inbox.text()
                assert not attempt.done()  # the hash really was still running
            finally:
                release.set()
            assert (await attempt).status == 401
    assert threads and all(name.startswith("web-hash") for name in threads), threads


async def test_pages_say_where_their_time_went(site: Site) -> None:
    """Server-Timing: the database's and the template's share, for the browser's tools."""
    async with serving(site.settings, site.businesses) as url, client(url) as http:
        await login(http, "admin")
        for path in ("/inbox", "/calls", "/calls/call-a", "/week", "/live"):
            response = await http.get(path)
            header = response.headers["Server-Timing"]
            found = dict(re.findall(r"(\w+);dur=([0-9.]+)", header))
            assert set(found) == {"db", "render", "total"}, header
            db, render, total = (float(found[k]) for k in ("db", "render", "total"))
            assert db > 0 and render > 0, (path, header)  # each page reads and renders
            assert db + render <= total + 0.2, (path, header)


def test_a_tool_still_running_or_cut_off_is_told_as_such() -> None:
    def row(result: str) -> ToolCallRecord:
        arguments = '{"caller_name": "Ann", "callback_number": "+15550003333"}'
        return ToolCallRecord("book_appointment", arguments, result, 0.0, datetime.now(UTC))

    assert tool_summary(row(TOOL_RUNNING)) == "Book appointment (in progress): Ann"
    assert tool_summary(row(TOOL_CUT_OFF)).startswith("Book appointment (cut off: the call")
    assert tool_summary(row("Booked Ann on Monday. Read the day and time back.")) == (
        "Appointment booked: Ann"
    )
