"""Server time of the web page on a large call log: an inbox of 10,000 messages and a call
page with a 30-minute transcript; then the inbox while wrong-password logins are in flight.

    python -m benchmarks.web [--messages 10000] [--minutes 30] [--repeat 30]
                             [--logins 8] [--json FILE]

Each page is requested `--repeat` times over loopback by a signed-in client; the figures
are the handler's own time inside the server (a middleware clocks it) and the whole
round trip seen by the client, as median and p95. Then `--logins` clients keep posting
wrong passwords (each one a full scrypt at the stored cost; the login limiter is lifted
for this) while the signed-in client loads the inbox `--repeat` times: the page must not
wait behind the hashing (target: p95 under 100 ms). Prints a table, then JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from benchmarks.report import Figure, machine, percentiles, table
from receptionist.settings import Settings
from receptionist.store.log import Store
from receptionist.store.users import Users
from receptionist.web import create_app
from receptionist.web.context import CONTEXT
from receptionist.web.sessions import LoginLimiter
from tests.web_site import PASSWORD, A, B, make_businesses

SECTION = "web"


def fill(database: Path, messages: int, minutes: int) -> str:
    """The call log: `messages` messages (and as many calls), one long call; its id."""
    store = Store(database)
    Users(store.sql).add("admin", PASSWORD, "admin")
    start = datetime.now(UTC) - timedelta(days=60)
    calls, rows = [], []
    for n in range(messages):
        at = (start + timedelta(minutes=8 * n)).isoformat(timespec="milliseconds")
        business = A if n % 2 else B
        calls.append({"id": f"call-{n}", "business": business, "caller_number": "+15550001111",
                      "channel_id": f"call-{n}", "started_at": at, "ended_at": at})  # fmt: skip
        rows.append({"call_id": f"call-{n}", "business": business,
                     "caller_name": f"Caller {n}", "callback_number": "+15552345678",
                     "message": f"Please call me back about appointment {n}, any time after 3.",
                     "status": "handled" if n % 3 else "new", "handled_at": None,
                     "created_at": at})  # fmt: skip
    store.db.table("calls").insert_all(calls, batch_size=1000)
    store.db.table("messages").insert_all(rows, batch_size=1000)
    long_call = "call-long"
    store.start_call(long_call, A, "+15550002222", long_call)
    turns = minutes * 60 // 4  # a turn every 4 s, both sides
    for n in range(turns):
        speaker = "caller" if n % 2 else "assistant"
        text = f"Turn {n}: a sentence or two of what was said, about the length people speak."
        store.add_turn(long_call, speaker, text, n * 4000, n * 4000 + 3500)
        if n % 15 == 0:
            store.add_tool_call(long_call, "lookup_faq", '{"question": "hours"}', "Open 8-5.", 2.0)
    store.end_call(long_call)
    store.close()
    return long_call


async def measure(
    base: str, path: str, repeat: int, server_ms: list[float], http: aiohttp.ClientSession
) -> tuple[list[float], list[float], int]:
    client, server = [], []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        async with http.get(base + path) as response:
            body = await response.read()
            assert response.status == 200, (path, response.status)
        client.append((time.perf_counter() - started) * 1000)
        server.append(server_ms.pop())
        size = len(body)
    return server, client, size


async def run(
    messages: int, minutes: int, repeat: int, work: Path, logins: int = 8
) -> list[Figure]:
    database = work / "receptionist.db"
    long_call = fill(database, messages, minutes)
    businesses = make_businesses(work / "businesses")
    settings = Settings(database=database, recordings_dir=work / "recordings")
    app = create_app(settings, businesses)
    server_ms: list[float] = []

    @web.middleware
    async def clock(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        server_ms.append((time.perf_counter() - started) * 1000)
        return response

    app.middlewares.insert(0, clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    pages = {
        f"inbox, {messages} messages": "/inbox",
        "inbox, all statuses": "/inbox?status=all",
        "inbox, full-text search": "/inbox?status=all&q=appointment",
        "inbox, one business": f"/inbox?status=all&business={A}",
        f"calls list, {messages} calls": "/calls",
        f"call page, {minutes}-minute transcript": f"/calls/{long_call}",
    }
    figures = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = await (await http.get(base + "/login")).text()
            token = re.search(r'name="csrf" value="([^"]+)"', login)
            assert token is not None
            form = {"username": "admin", "password": PASSWORD, "csrf": token.group(1)}
            await http.post(base + "/login", data=form)
            server_ms.clear()
            for name, path in pages.items():
                await measure(base, path, 2, server_ms, http)  # warm the caches
                server, client, size = await measure(base, path, repeat, server_ms, http)
                s50, s95 = percentiles(server, 50, 95)
                c50, c95 = percentiles(client, 50, 95)
                note = f"{repeat} requests, {size // 1024} KiB page"
                figures += [
                    Figure(SECTION, f"{name}: server time p50", s50, "ms", note=note),
                    Figure(SECTION, f"{name}: server time p95", s95, "ms"),
                    Figure(SECTION, f"{name}: round trip p50", c50, "ms"),
                    Figure(SECTION, f"{name}: round trip p95", c95, "ms"),
                ]
            figures += await under_logins(base, http, logins, repeat, app)
    finally:
        await runner.cleanup()
    return figures


async def _wrong_logins(
    base: str, stop: asyncio.Event, done: list[float], warm: asyncio.Event, logins: int
) -> None:
    """One browser posting a wrong password again and again, each with a fresh form."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        while not stop.is_set():
            page = await (await http.get(base + "/login")).text()
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            form = {"username": "admin", "password": "not the password", "csrf": token.group(1)}
            started = time.perf_counter()
            async with http.post(base + "/login", data=form) as response:
                assert response.status == 401, response.status
            done.append((time.perf_counter() - started) * 1000)
            if len(done) >= logins:
                warm.set()  # the hashing pool has been full for a while


async def under_logins(
    base: str, http: aiohttp.ClientSession, logins: int, repeat: int, app: web.Application
) -> list[Figure]:
    """The inbox's round trip while `logins` wrong-password logins are always in flight."""
    app[CONTEXT].limiter = LoginLimiter(attempts=10**9, per_address=10**9)  # let all through
    stop, warm, login_ms = asyncio.Event(), asyncio.Event(), []
    attackers = [
        asyncio.create_task(_wrong_logins(base, stop, login_ms, warm, logins))
        for _ in range(logins)
    ]
    try:
        await warm.wait()
        inbox = []
        for _ in range(repeat):
            started = time.perf_counter()
            async with http.get(base + "/inbox") as response:
                await response.read()
                assert response.status == 200
            inbox.append((time.perf_counter() - started) * 1000)
    finally:
        stop.set()
        await asyncio.gather(*attackers)
    i50, i95 = percentiles(inbox, 50, 95)
    l50, _ = percentiles(login_ms, 50, 95)
    name = f"inbox with {logins} wrong-password logins in flight"
    return [
        Figure(SECTION, f"{name}: round trip p50", i50, "ms", note=f"{repeat} requests"),
        Figure(SECTION, f"{name}: round trip p95", i95, "ms", target="<= 100"),
        Figure(SECTION, "a wrong-password login under that load: p50", l50, "ms",
               note=f"{len(login_ms)} logins, scrypt N=2^17"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the inbox")
    parser.add_argument("--minutes", type=int, default=30, help="length of the long call")
    parser.add_argument("--repeat", type=int, default=30, help="requests per page")
    parser.add_argument("--logins", type=int, default=8, help="wrong-password logins at once")
    parser.add_argument("--json", type=Path, help="write the summary here too")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as work:
        figures = asyncio.run(
            run(args.messages, args.minutes, args.repeat, Path(work), args.logins)
        )
    print(table(figures))
    summary = {"machine": machine(), "figures": [f.as_dict() for f in figures]}
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
