"""What happens when things go wrong: Asterisk restarts, silent callers, shutdown."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from receptionist.ari import AriClient, ChannelDestroyed
from receptionist.sandbox import Sandbox, SandboxError, SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    eventually,
    place_call,
    reached_operator,
)
from tests.integration.live import has_tone, live_call, receptionist

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_sandbox_names_a_taken_port() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SandboxError, match=f"port {port} on 127.0.0.1 is taken"):
            Sandbox(f"pytest-port-{os.getpid()}", http_port=port).start()


def test_sandbox_shows_asterisks_own_error_for_a_rejected_config() -> None:
    modules = (REPO / "asterisk/modules.conf").read_text() + "require = res_no_such_thing.so\n"
    box = Sandbox(f"pytest-bad-{os.getpid()}", config_overrides={"modules.conf": modules})
    started = time.monotonic()
    with pytest.raises(SandboxError) as failure:
        box.start()
    assert "res_no_such_thing" in str(failure.value)
    assert time.monotonic() - started < 15, "a rejected config must not hang the start"
    box.stop()


async def test_app_reconnects_after_asterisk_restarts(tmp_path: Path) -> None:
    box = Sandbox(f"pytest-restart-{os.getpid()}")
    info = await asyncio.to_thread(box.start)
    try:
        script = Script(replies=[Reply(tone24(1000, 0.5), "Hello again")])
        async with receptionist(info, tmp_path, script) as live:
            await asyncio.to_thread(box.restart)
            async with (
                AriClient(info.ari_url, info.ari_user, info.ari_password) as ari,
                EventWatcher(ari, CALLER_APP) as watcher,
                AudioSocketPeer() as ear,
            ):
                # The events websocket dropped with the old Asterisk; the app is known to
                # the new one only once it has connected again by itself.
                app = f"applications/{live.app_name}"
                await eventually(lambda: ari.request("GET", app, missing_ok=True), 15)
                await asyncio.wait_for(live.app.connected.wait(), 15)
                call = await place_call(ari, watcher, ear, "5551234", variables=live.variables)
                assert call.peer is not None
                await call.peer.wait_frames(has_tone(1000), 1)
                await ari.hangup(call.dialplan_id)
    finally:
        await asyncio.to_thread(box.stop)


@pytest.mark.parametrize("model_ends_call", [True, False])
async def test_silent_caller_gets_a_check_in_then_a_goodbye(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, model_ends_call: bool
) -> None:
    # Without the model's end_call, the line still closes once the goodbye has played.
    ending = (ToolCall("end_call"),) if model_ends_call else ()
    script = Script(
        replies=[
            Reply(tone24(1000, 0.4), "Hello, how can I help?"),
            Reply(tone24(1000, 0.4), "Are you still there?"),
            Reply(tone24(1000, 0.4), "Goodbye.", calls=ending),
        ]
    )
    async with live_call(ari, sandbox, tmp_path, script, silence_timeout_seconds=2) as (
        live,
        watcher,
        call,
    ):
        await watcher.wait_for(
            lambda e: isinstance(e, ChannelDestroyed) and e.channel.id == call.caller_id,
            timeout=30,
        )
        instructions = [e.response.instructions or "" for e in live.fake.events("response.create")]
        assert len(instructions) == 3, instructions
        assert "silent" in instructions[1] and "goodbye" in instructions[2]
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and {"caller_silent", "completed"} <= set(record.outcomes)


async def test_shutdown_hands_active_calls_to_the_fallback_and_refuses_new_ones(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    script = Script(replies=[Reply(tone24(1000, 0.4), "Hello")])
    async with live_call(ari, sandbox, tmp_path, script, apps=f"{CALLER_APP},{PEOPLE_APP}") as (
        live,
        watcher,
        active,
    ):
        await live.fake.wait_sent("response.done")
        shutdown = asyncio.create_task(live.app.shutdown(grace=1.0))
        await eventually(lambda: not live.app.accepting)
        late = await place_call(ari, watcher, None, "5551234", variables=live.variables)
        await shutdown

        async def both_at_operator() -> bool:
            found = await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
            return len(found) >= 2

        await eventually(both_at_operator, 20)
        reasons = {
            await ari.get_variable(c.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
            for c in (active, late)
        }
        assert reasons == {"shutting_down"}
        record = live.store.get_call(active.dialplan_id)
        assert record is not None and "shutting_down" in record.outcomes
        for c in (active, late):
            await ari.hangup(c.dialplan_id)


async def test_a_broken_call_log_still_puts_the_caller_through_to_a_person(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    broken = tmp_path / "not-a-database"
    broken.mkdir()  # SQLite cannot open a directory: every write fails
    async with (
        receptionist(sandbox, tmp_path, Script(), app_database=broken) as live,
        EventWatcher(ari, f"{CALLER_APP},{PEOPLE_APP}") as watcher,
    ):
        call = await place_call(ari, watcher, None, "5551234", variables=live.variables)
        [operator] = await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        assert operator.args == ("operator",)
        reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
        assert reason == "store_error"
        await ari.hangup(call.dialplan_id)
