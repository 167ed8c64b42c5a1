"""/health names the part that fails: ARI, the AudioSocket listener, or the call log
(which must take a write, not just exist)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from receptionist.ari import AriClient
from receptionist.audiosocket.server import AudioSocketServer
from receptionist.sandbox.launcher import free_port
from receptionist.service.app import ReceptionistApp
from receptionist.service.metrics import start_http
from receptionist.settings import Settings
from receptionist.store.health import probe_call_log
from receptionist.store.log import AsyncStore, Store


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "receptionist.db"
    path.parent.mkdir()
    Store(path).close()
    return path


def test_call_log_probe(database: Path, tmp_path: Path) -> None:
    assert probe_call_log(database) is None
    assert "No such file" in (probe_call_log(tmp_path / "gone" / "r.db") or "")
    (tmp_path / "file").write_text("")
    assert "Not a directory" in (probe_call_log(tmp_path / "file" / "r.db") or "")
    # A database nobody else can write to: another process holds its write lock.
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert "locked" in (probe_call_log(database) or "")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert probe_call_log(database) is None


@pytest.fixture
async def app(database: Path) -> AsyncIterator[ReceptionistApp]:
    settings = Settings(ari_password="pw", database=database)
    store = AsyncStore(database)
    ari = AriClient(settings.ari_url, settings.ari_user, "pw")
    try:
        yield ReceptionistApp(settings, {}, store, ari, None)
    finally:
        await ari.close()
        await store.close()


async def _health(port: int) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/health") as response,
    ):
        return response.status, await response.json()


async def test_health_names_each_failing_part(app: ReceptionistApp, database: Path) -> None:
    port = free_port()
    runner = await start_http(app, "127.0.0.1", port)
    try:
        # Nothing running yet: ARI not connected, no AudioSocket listener.
        status, body = await _health(port)
        assert status == 503 and body["failing"] == ["ari", "audiosocket"]
        assert body["call_log"] == "writable"

        async with AudioSocketServer() as server:
            app.audiosocket = server  # as app.run() does once it listens
            app.connected.set()  # as the ARI events websocket does once connected
            status, body = await _health(port)
            assert (status, body["failing"], body["status"]) == (200, [], "ok")

            holder = sqlite3.connect(database, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            status, body = await _health(port)
            holder.execute("ROLLBACK")
            holder.close()
            assert status == 503 and body["failing"] == ["call_log"]
            assert str(body["call_log"]).startswith("unwritable: database is locked")

            app.connected.clear()
            status, body = await _health(port)
            assert status == 503 and body["failing"] == ["ari"]
            app.connected.set()
        # The listener closed (server left its context).
        status, body = await _health(port)
        assert status == 503 and body["failing"] == ["audiosocket"]
    finally:
        await runner.cleanup()
