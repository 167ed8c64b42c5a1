"""Two Asterisk servers, two `receptionist serve` processes, one PostgreSQL call log.

Server A is the session's sandbox, server B a second sandbox (another name, so another
systemname and entity id); each serve is an ARI client of its own server, and both
write to one PostgreSQL database started by the tests. Calls on both are answered and
their rows name their server. After `kill -9` of A's serve, the restarted one hands its
caller to the fallback and closes that row (`service_restart`), while B's live call and
its open row are left alone: A cannot see B's channels, so it must not judge B's rows.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.core.outcomes import FallbackReason, Outcome
from receptionist.sandbox import Sandbox, SandboxInfo
from receptionist.sandbox.launcher import free_port
from receptionist.store.log import AsyncStore
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.records import CallRecord
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    Call,
    EventWatcher,
    eventually,
    place_call,
)
from tests.integration.live import RECEPTIONIST, SLUG, business_yaml, run_cli, tone_spans
from tests.integration.serve_process import serve_env, start_serve, wait_exit
from tests.postgres import Cluster
from tests.unit.test_web_access import client, login
from tests.web_site import PASSWORD

pytestmark = pytest.mark.integration


async def _add_admin(env: dict[str, str], cwd: Path, database: PostgresUrl) -> None:
    """`receptionist users add` as an admin runs it, on the shared database."""
    add = await asyncio.create_subprocess_exec(
        str(RECEPTIONIST), "users", "add", "--db", database.secret(), "--password-stdin",
        "--role", "admin", "admin", cwd=cwd, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    said, _ = await asyncio.wait_for(add.communicate(f"{PASSWORD}\n".encode()), 30)
    assert add.returncode == 0, said.decode()


async def _greeted(call: Call) -> None:
    assert call.peer is not None
    peer = call.peer
    await eventually(lambda: any(tone_spans(peer.audio(), 16000, 1000)), 20)


async def test_a_restarted_instance_reclaims_its_server_and_leaves_the_other_alone(
    sandbox: SandboxInfo, pg_cluster: Cluster, tmp_path: Path, report: dict[str, object]
) -> None:
    box_b = Sandbox(f"pytest-{os.getpid()}-b", people_app=PEOPLE_APP)
    server_b = box_b.start()
    database = pg_cluster.new_database()
    business_yaml(tmp_path / "businesses")
    app = f"rx-{uuid.uuid4().hex[:8]}"
    variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": SLUG}
    greeting = Reply(tone24(1000, 1.0), "Thanks for calling Example Dental.")
    store = AsyncStore(database)
    try:
        async with (
            FakeRealtimeServer(Script(replies=[greeting] * 3)) as fake,
            AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password) as ari_a,
            AriClient(server_b.ari_url, server_b.ari_user, server_b.ari_password) as ari_b,
            EventWatcher(ari_a, CALLER_APP) as watcher_a,
            EventWatcher(ari_b, CALLER_APP) as watcher_b,
            AudioSocketPeer() as ear,
        ):
            # The same ARI app name on both servers, as two boxes installed alike would be.
            envs = {
                name: serve_env(box, tmp_path, app=app, realtime_url=fake.url,
                                metrics_port=free_port())
                | {"RECEPTIONIST_DATABASE": database.secret()}
                for name, box in (("a", sandbox), ("b", server_b))
            }  # fmt: skip
            out_a: list[str] = []
            out_b: list[str] = []
            serve_a = await start_serve(envs["a"], tmp_path, out_a)
            serve_b = await start_serve(envs["b"], tmp_path, out_b)
            call_a = await place_call(ari_a, watcher_a, ear, "5551234", variables=variables)
            call_b = await place_call(ari_b, watcher_b, ear, "5551234", variables=variables)
            await _greeted(call_a)
            await _greeted(call_b)
            await store.open()
            row_a = await store.get_call(call_a.dialplan_id)
            row_b = await store.get_call(call_b.dialplan_id)
            assert row_a is not None and row_b is not None
            assert row_a.asterisk is not None and row_a.asterisk.startswith(
                f"receptionist-sandbox-{sandbox.name}/"
            )
            assert row_b.asterisk is not None and row_b.asterisk.startswith(
                f"receptionist-sandbox-{server_b.name}/"
            )
            # One host here, one app name: the two instances have the same name; the server
            # is what tells their rows apart.
            assert row_a.instance == row_b.instance == f"{socket.gethostname()}/{app}"
            assert row_a.ended_at is None and row_b.ended_at is None
            # Staff see both servers' calls on either instance's web page.
            await _add_admin(envs["a"], tmp_path, database)
            web_b = f"http://127.0.0.1:{envs['b']['RECEPTIONIST_WEB_PORT']}"
            async with client(web_b) as http:
                await login(http, "admin")
                listed = await (await http.get("/calls")).text()
            assert f"/calls/{call_a.dialplan_id}" in listed
            assert f"/calls/{call_b.dialplan_id}" in listed

            serve_a.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await wait_exit(serve_a)
            restarted: list[str] = []
            serve_a = await start_serve(envs["a"], tmp_path, restarted)

            # A's caller is reclaimed: handed to the fallback, its row closed.
            async def closed_a() -> bool:
                row = await store.get_call(call_a.dialplan_id)
                return row is not None and row.ended_at is not None

            try:
                await eventually(closed_a, 20)
            except TimeoutError:
                pytest.fail("A's row was never closed; serve said:\n" + "".join(restarted))
            report["two_servers_killed_row_closed_after_restart_s"] = round(
                time.monotonic() - killed_at, 2
            )
            reason = await ari_a.get_variable(call_a.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
            assert reason == FallbackReason.SERVICE_RESTART
            row_a = await store.get_call(call_a.dialplan_id)
            assert row_a is not None and row_a.outcomes == (Outcome.SERVICE_RESTART,)

            # The same sweep judged every open row it could see: B's is untouched, and
            # B's caller is still with B's instance.
            row_b = await store.get_call(call_b.dialplan_id)
            assert isinstance(row_b, CallRecord)
            assert row_b.ended_at is None and row_b.outcomes == (), row_b
            in_stasis, _ = await ari_b.application(app)
            assert call_b.dialplan_id in in_stasis
            await ari_b.hangup(call_b.dialplan_id)
            await ari_a.hangup(call_a.dialplan_id)

            async def ended_b() -> bool:
                row = await store.get_call(call_b.dialplan_id)
                return row is not None and row.ended_at is not None

            await eventually(ended_b, 10)  # B's own instance ends it
            code, shown = await run_cli(envs["b"], tmp_path, "calls", "show", call_b.dialplan_id,
                                        "--json")  # fmt: skip
            assert code == 0, shown
            record = json.loads(shown)
            assert (record["instance"], record["asterisk"]) == (row_b.instance, row_b.asterisk)
            for serve in (serve_a, serve_b):
                serve.send_signal(signal.SIGTERM)
                assert await wait_exit(serve) == 0
    finally:
        await store.close()
        box_b.stop()
