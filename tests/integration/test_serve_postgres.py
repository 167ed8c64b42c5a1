"""`receptionist serve --sandbox` as a process with its call log on PostgreSQL (a real
server started by the tests): a call through the sandbox Asterisk reaches the fake model,
is written to PostgreSQL as it happens, and `receptionist calls list` shows it from there;
the web page runs over the same database. The password written in the database URL never
reaches the output."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import aiohttp
import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port
from receptionist.store.log import AsyncStore
from receptionist.store.pg.url import PostgresUrl
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP, AudioSocketPeer, EventWatcher, place_call
from tests.integration.live import RECEPTIONIST, REPO, run_cli, tone_spans
from tests.integration.test_readme_serve import heard, user_env
from tests.postgres import Cluster

pytestmark = pytest.mark.integration
SECRET = "pg-secret-never-printed"


async def test_serve_writes_the_call_to_postgres_and_the_cli_lists_it(
    ari: AriClient, sandbox: SandboxInfo, pg_cluster: Cluster, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "config", checkout / "config")
    database = pg_cluster.new_database().secret()
    # The test cluster trusts local connections; the password is there to be hidden.
    url = database.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")
    web_port = free_port()
    script = Script(replies=[Reply(tone24(1000, 0.6), "Thanks for calling Example Dental.")])
    async with FakeRealtimeServer(script) as fake:
        env = user_env(
            OPENAI_API_KEY="sk-test-never-printed",
            RECEPTIONIST_REALTIME_URL=fake.url,
            RECEPTIONIST_SANDBOX=sandbox.name,
            RECEPTIONIST_METRICS_PORT=str(free_port()),
            RECEPTIONIST_DATABASE=url,
            RECEPTIONIST_WEB_PORT=str(web_port),
        )
        serve = await asyncio.create_subprocess_exec(
            str(RECEPTIONIST), "serve", "--sandbox", cwd=checkout, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert serve.stdout is not None
        output: list[str] = []
        try:
            while not any(line.startswith("ready") for line in output):
                line = await asyncio.wait_for(serve.stdout.readline(), 20)
                assert line, "serve exited early:\n" + "".join(output)
                output.append(line.decode())
            async with EventWatcher(ari, CALLER_APP) as watcher, AudioSocketPeer() as ear:
                call = await place_call(ari, watcher, ear, "100")
                assert call.peer is not None
                await fake.wait_sent("response.done")
                await heard(lambda: any(tone_spans(call.peer.audio(), 16000, 1000)))
                # Written as it happens: the call row is in PostgreSQL while the call is on.
                store = await AsyncStore(PostgresUrl(url)).open()
                live = await store.get_call(call.dialplan_id)
                await store.close()
                assert live is not None and live.ended_at is None
                await ari.hangup(call.dialplan_id)
            # The web page listens where serve said, over PostgreSQL (its sign-in page).
            assert f"web page: http://127.0.0.1:{web_port}/" in "".join(output)
            login = f"http://127.0.0.1:{web_port}/login"
            async with aiohttp.ClientSession() as http, http.get(login) as page:
                assert page.status == 200 and "password" in (await page.text()).lower()
        finally:
            serve.terminate()
            rest, _ = await asyncio.wait_for(serve.communicate(), 30)
            output.append(rest.decode())
    logs = "".join(output)
    assert SECRET not in logs and "sk-test-never-printed" not in logs, logs
    assert "does not run on PostgreSQL" not in logs
    code, listed = await run_cli(env, checkout, "calls", "list")
    assert code == 0, listed
    [line] = [line for line in listed.splitlines() if line.startswith(call.dialplan_id)]
    assert "example-dental" in line and "turns=" in line and "turns=0" not in line
    code, shown = await run_cli(env, checkout, "calls", "show", call.dialplan_id, "--json")
    assert code == 0, shown
    record = json.loads(shown)
    assert any("Example Dental" in turn["text"] for turn in record["turns"])
    assert record["ended_at"] is not None
    assert not (checkout / "data").exists()  # nothing went to a SQLite file
