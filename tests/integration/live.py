"""Run the real receptionist against the sandbox Asterisk and a fake realtime model."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from receptionist.ari import AriClient
from receptionist.audiosocket.protocol import AudioFrame
from receptionist.business import load_businesses
from receptionist.sandbox import SandboxInfo
from receptionist.service.app import ReceptionistApp
from receptionist.service.wiring import session_factory
from receptionist.settings import Settings
from receptionist.store.log import AsyncStore, Store
from receptionist.store.pg.url import PostgresUrl
from tests.fakes.realtime_server import FakeRealtimeServer, Script
from tests.fakes.tones import tone_spans
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    Call,
    EventWatcher,
    place_call,
)

REPO = Path(__file__).resolve().parents[2]
RECEPTIONIST = Path(sys.executable).with_name("receptionist")  # the installed command
SLUG = "test-dental"


def business_yaml(
    directory: Path,
    *,
    recording: bool = False,
    calendar: dict[str, object] | None = None,
    notifications: dict[str, object] | None = None,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """The example business, with departments pointing at sandbox phones:
    Front Desk -> 203 (answered by sipp), Billing -> 202 (never registered)."""
    data = yaml.safe_load((REPO / "config/businesses/example-dental.yaml").read_text())
    data["routing"]["departments"][0]["extension"] = "PJSIP/203"
    data["routing"]["departments"][1]["extension"] = "PJSIP/202"
    data["routing"]["departments"][1].pop("hours", None)
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        data["hours"][day] = {"open": "00:00", "close": "23:59"}  # tests run at any hour
    data["hours"]["closures"] = []
    data["recording"]["enabled"] = recording
    data["dids"] = ["+15555550100"]
    if calendar is not None:
        data["calendar"] = calendar
    if notifications is not None:
        data["notifications"] = notifications
    if edit is not None:
        edit(data)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{SLUG}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class Live:
    app: ReceptionistApp
    fake: FakeRealtimeServer
    store: Store
    app_name: str

    @property
    def variables(self) -> dict[str, str]:
        """Channel variables that route a simulated call to this app and business."""
        return {"__RECEPTIONIST_APP": self.app_name, "__RECEPTIONIST_BUSINESS": SLUG}


@contextlib.asynccontextmanager
async def receptionist(
    sandbox: SandboxInfo,
    tmp_path: Path,
    script: Script,
    *,
    recording: bool = False,
    calendar: dict[str, object] | None = None,
    notifications: dict[str, object] | None = None,
    edit: Callable[[dict[str, Any]], None] | None = None,  # changes to the business YAML
    refuse_status: int | None = None,
    app_name: str | None = None,
    app_database: Path | None = None,  # give the app a different (e.g. broken) database
    database: Path | PostgresUrl | None = None,  # the call log (default: a file in tmp_path)
    **overrides: object,
) -> AsyncIterator[Live]:
    business_yaml(tmp_path / "businesses", recording=recording, calendar=calendar,
                  notifications=notifications, edit=edit)  # fmt: skip
    app_name = app_name or f"rx-{uuid.uuid4().hex[:8]}"
    async with FakeRealtimeServer(script, refuse_status=refuse_status) as fake:
        settings = Settings(
            ari_url=sandbox.ari_url,
            ari_user=sandbox.ari_user,
            ari_password=sandbox.ari_password,
            ari_app=app_name,
            audiosocket_port=0,
            realtime_url=fake.url,
            realtime_api_key="test-key",
            database=database or tmp_path / "receptionist.db",
            businesses_dir=tmp_path / "businesses",
            recordings_dir=Path(sandbox.run_dir) / "spool" / "recording",
            **overrides,
        )
        reader = Store(settings.database)  # migrates first; the app's store then opens it
        store = AsyncStore(app_database or settings.database)
        ari = AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password)
        businesses = load_businesses(settings.businesses_dir)
        app = ReceptionistApp(settings, businesses, store, ari, session_factory(settings))
        task = asyncio.create_task(app.run())
        try:
            await asyncio.wait_for(app.connected.wait(), 10)
            yield Live(app, fake, reader, app_name)
        finally:
            await app.shutdown(2)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await ari.close()
            await store.close()


@contextlib.asynccontextmanager
async def live_call(
    ari: AriClient,
    sandbox: SandboxInfo,
    tmp_path: Path,
    script: Script,
    *,
    apps: str = CALLER_APP,
    **options: Any,
) -> AsyncIterator[tuple[Live, EventWatcher, Call]]:
    """The receptionist running, and a simulated caller (with ear and mouth) connected."""
    async with (
        receptionist(sandbox, tmp_path, script, **options) as live,
        EventWatcher(ari, apps) as watcher,
        AudioSocketPeer() as ear,
    ):
        # The caller's ear is bridged once the call is answered: the model's replies
        # wait until it listens, so the caller hears every frame of the greeting.
        live.fake.replies_open.clear()
        try:
            call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
        finally:
            live.fake.replies_open.set()
        yield live, watcher, call


async def function_outputs(live: Live, count: int) -> list[tuple[str, str]]:
    """(tool name, output) of the tool results we sent the model, once `count` have come."""

    def outputs() -> list[tuple[str, str]]:
        names = {e["item"]["call_id"]: e["item"]["name"]
                 for e in live.fake.sent_events("response.output_item.done")
                 if e["item"]["type"] == "function_call"}  # fmt: skip
        return [
            (names.get(e.item.call_id, ""), e.item.output)
            for e in live.fake.events("conversation.item.create")
            if e.item.type == "function_call_output"
        ]

    await live.fake.wait_until(lambda: len(outputs()) >= count)
    return outputs()


def has_tone(freq: float, rate: int = 16000) -> Callable[[AudioFrame], bool]:
    """Whether one frame the caller heard carries `freq` (for AudioPeer.wait_frames)."""
    return lambda frame: tone_spans(frame.pcm, rate, freq)[0]


async def run_cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    """Run the installed `receptionist` command; (exit code, stdout + stderr)."""
    proc = await asyncio.create_subprocess_exec(
        str(RECEPTIONIST), *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode()
