"""A web page over a call log with two businesses, for the web tests and the benchmark.

`dental` and `plumbing` are copies of the example business; `staff-a` sees only
dental, `admin` sees both. Recordings are real WAV files in a recordings folder.
"""

from __future__ import annotations

import contextlib
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from aiohttp import web

from receptionist.business import Business, load_businesses
from receptionist.call.callback import CallbackDesk
from receptionist.settings import Settings
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.users import Users
from receptionist.web import create_app
from receptionist.web.live import LiveSource

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
FAST_HASH = 2**12  # scrypt cost for test accounts: signing in takes milliseconds, not 0.5 s
A, B = "dental", "plumbing"


def make_businesses(directory: Path, *, calendar: bool = False) -> dict[str, Business]:
    """Both businesses; with `calendar`, dental books appointments (never contacted here)."""
    directory.mkdir(parents=True, exist_ok=True)
    example = yaml.safe_load((REPO / "config/businesses/example-dental.yaml").read_text())
    for number, slug in enumerate((A, B)):
        info = example["business"] | {"name": f"Example {slug.capitalize()}"}
        data = example | {"business": info, "dids": [f"+1555555010{number}"]}
        if calendar and slug == A:
            data["calendar"] = {"calendar_id": "front@example.com", "credentials_file": "sa.json"}
        (directory / f"{slug}.yaml").write_text(yaml.safe_dump(data))
    return load_businesses(directory)


def write_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(int(seconds * rate) * 2))


def add_call(
    store: Store, call_id: str, business: str, recordings: Path | None, *, at: datetime
) -> int:
    """A finished call with a short conversation, a tool call, a message and a recording."""
    store.start_call(call_id, business, "+15550001111", call_id, at=at)
    store.add_turn(call_id, "assistant", "Thanks for calling, how can I help?", 0, 2000)
    store.add_turn(call_id, "caller", f"Please ask someone at {business} to call me.", 2500, 5000)
    transfer = '{"department": "Billing"}'
    store.add_tool_call(call_id, "transfer_call", transfer, "Transferring the caller.", 2.0)
    message = store.add_message(
        call_id, business, f"Caller of {business}", "+15552345678", "Call me back please", at=at
    )
    store.add_tool_call(call_id, "take_message", "{}", f"Saved message number {message}.", 3.0)
    if recordings is not None:
        path = recordings / f"call-{call_id}.wav"
        write_wav(path, 2.0)
        store.add_recording(call_id, str(path), 2.0)
    store.end_call(call_id, at=at + timedelta(seconds=40))
    return message


@dataclass
class Site:
    settings: Settings
    businesses: dict[str, Business]
    database: Path | PostgresUrl
    recordings: Path
    messages: dict[str, int]  # business -> its message id


def make_site(
    tmp: Path,
    *,
    calendar: bool = False,
    database: Path | PostgresUrl | None = None,
    **settings: object,
) -> Site:
    """Two businesses with a call and a message each, an admin and a staff account, on
    `database` (default: a SQLite file in `tmp`)."""
    recordings = tmp / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    database = database or tmp / "receptionist.db"
    businesses = make_businesses(tmp / "businesses", calendar=calendar)
    store = Store(database)
    users = Users(store.sql, cost=FAST_HASH)
    users.add("admin", PASSWORD, "admin")
    users.add("staff-a", PASSWORD, "staff", [A])
    now = datetime.now(UTC)
    messages = {
        A: add_call(store, "call-a", A, recordings, at=now - timedelta(minutes=5)),
        B: add_call(store, "call-b", B, recordings, at=now - timedelta(minutes=4)),
    }
    store.close()
    config = Settings(database=database, recordings_dir=recordings, **settings)  # type: ignore[arg-type]
    return Site(config, businesses, database, recordings, messages)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings,
    businesses: dict[str, Business],
    live: LiveSource | None = None,
    callbacks: CallbackDesk | None = None,
) -> AsyncIterator[str]:
    """The web app on a free loopback port; yields its base URL."""
    app = create_app(settings, businesses, live=live, callbacks=callbacks)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
