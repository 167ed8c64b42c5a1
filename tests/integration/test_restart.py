"""A serve process killed mid-call (SIGKILL, OOM, crash): the caller is not left in dead air.

A stand-in supervisor restarts serve as soon as it dies (systemd's Restart=always, docker's
restart policy); the new process hands the caller left in Stasis to the dialplan fallback
and closes the dead process's call row with `service_restart`.
"""

from __future__ import annotations

import signal
import sqlite3
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port
from receptionist.service import reclaim
from receptionist.store.log import Store
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    eventually,
    place_call,
)
from tests.integration.live import SLUG, business_yaml, live_call, receptionist, tone_spans
from tests.integration.prompt import prompt_heard_at
from tests.integration.serve_process import serve_env, start_serve, wait_exit

pytestmark = pytest.mark.integration


async def test_killed_serve_is_restarted_and_its_caller_hears_the_fallback(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    business_yaml(tmp_path / "businesses")
    app = f"rx-{uuid.uuid4().hex[:8]}"
    script = Script(replies=[Reply(tone24(1000, 0.6), "Thanks for calling Example Dental.")])
    async with (
        FakeRealtimeServer(script) as fake,
        EventWatcher(ari, CALLER_APP) as watcher,
        AudioSocketPeer() as ear,
    ):
        env = serve_env(sandbox, tmp_path, app=app, realtime_url=fake.url,
                        metrics_port=free_port())  # fmt: skip
        first_output: list[str] = []
        first = await start_serve(env, tmp_path, first_output)
        variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": SLUG}
        call = await place_call(ari, watcher, ear, "5551234", variables=variables)
        assert call.peer is not None
        peer = call.peer
        try:
            await eventually(lambda: any(tone_spans(peer.audio(), 16000, 1000)), timeout=20)
        except TimeoutError:
            pytest.fail("no greeting heard; serve said:\n" + "".join(first_output))

        killed_at = time.monotonic()
        first.send_signal(signal.SIGKILL)
        # The stand-in supervisor: start a new serve the moment the old one is reaped.
        await wait_exit(first)
        second_output: list[str] = []
        second = await start_serve(env, tmp_path, second_output)
        try:
            heard: list[float] = []

            def fallback_heard() -> bool:
                at = prompt_heard_at(peer, "fallback", 16000, since=killed_at)
                heard.extend([] if at is None else [at])
                return bool(heard)

            try:
                await eventually(fallback_heard, timeout=20)
            except TimeoutError:
                held = await ari.application(app)
                pytest.fail(f"no fallback prompt heard; the app holds {held}; serve said:\n"
                            + "".join(second_output))  # fmt: skip
            seconds = round(heard[0] - killed_at, 2)
            report["kill_to_fallback_prompt_s"] = seconds
            reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
            assert reason == "service_restart", "".join(second_output)
            # Nothing of the dead call is left in the app: no media leg, no bridge.
            await eventually(lambda: _is(ari.application(app), ((), ())))
            # Its row is closed once the new process connects (the caller, in the
            # fallback, is known to be handed over, not another instance's live call).
            store = Store(tmp_path / "calls.db")
            try:
                await eventually(lambda: _ended(store, call.dialplan_id), 10)
                record = store.get_call(call.dialplan_id)
            finally:
                store.close()
            assert record is not None and "service_restart" in record.outcomes
            await ari.hangup(call.dialplan_id)
        finally:
            second.send_signal(signal.SIGTERM)
            await wait_exit(second)


async def test_rows_left_open_by_an_earlier_process_are_closed_at_start(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    earlier = Store(tmp_path / "receptionist.db")
    earlier.start_call("cut-by-a-crash", SLUG, "+15550001111", "cut-by-a-crash")
    earlier.close()
    async with receptionist(sandbox, tmp_path, Script()) as live:
        # Closed as the app connects to ARI: Asterisk has no channel of that call.
        await eventually(lambda: _ended(live.store, "cut-by-a-crash"), 10)
        record = live.store.get_call("cut-by-a-crash")
        assert record is not None and record.outcomes == ("service_restart",)


async def test_a_call_whose_end_could_not_be_written_is_closed_once_the_disk_has_room(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full = True
    real_end_call = Store.end_call

    def end_call(self: Store, call_id: str, **kwargs: Any) -> None:
        if disk_full:  # what SQLite raises when the disk is full
            raise sqlite3.OperationalError("database or disk is full")
        real_end_call(self, call_id, **kwargs)

    monkeypatch.setattr(Store, "end_call", end_call)
    monkeypatch.setattr(reclaim, "SWEEP_EVERY_S", 0.2)
    script = Script(replies=[Reply(tone24(1000, 0.3), "Hello")])
    async with live_call(ari, sandbox, tmp_path, script) as (live, _, call):
        await live.fake.wait_sent("response.done")
        await ari.hangup(call.caller_id)
        await eventually(lambda: not live.app.calls)  # the call has ended
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and record.ended_at is None  # its end was lost
        disk_full = False
        await eventually(lambda: (live.store.get_call(call.dialplan_id) or record).ended_at)
        closed = live.store.get_call(call.dialplan_id)
        assert closed is not None and "end_not_logged" in closed.outcomes


async def test_the_app_reclaims_callers_left_in_its_stasis_app_when_it_connects(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    app = f"rx-{uuid.uuid4().hex[:8]}"
    async with EventWatcher(ari, CALLER_APP) as watcher:
        # A stand-in for a process that died: it registered the app, a caller entered it,
        # and it vanished without driving the call.
        async with EventWatcher(ari, app) as dead:
            variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": SLUG}
            call = await place_call(ari, watcher, None, "5551234", variables=variables)
            await dead.stasis_start(app, id=call.dialplan_id)
        assert call.dialplan_id in (await ari.application(app))[0]
        async with receptionist(sandbox, tmp_path, Script(), app_name=app):
            reason = "RECEPTIONIST_FALLBACK_REASON"
            await eventually(
                lambda: _is(ari.get_variable(call.dialplan_id, reason), "service_restart")
            )
            channel = await ari.get_channel(call.dialplan_id)
            assert channel is not None and channel.dialplan_context == "receptionist-fallback"
        await ari.hangup(call.dialplan_id)


async def _is(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


def _ended(store: Store, call_id: str) -> bool:
    record = store.get_call(call_id)
    return record is not None and record.ended_at is not None
