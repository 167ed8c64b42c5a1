"""`receptionist serve` as a real process: configured from the environment, answers a
call, drains on SIGTERM, and leaves a call log that `receptionist calls show` prints."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    place_call,
    reached_operator,
)
from tests.integration.live import SLUG, business_yaml, run_cli, serve_env, tone_spans

pytestmark = pytest.mark.integration


async def test_serve_process_answers_drains_on_sigterm_and_logs_the_call(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    business_yaml(tmp_path / "businesses")
    app = f"rx-{uuid.uuid4().hex[:8]}"
    script = Script(replies=[Reply(tone24(1000, 0.6), "Thanks for calling Example Dental.")])
    metrics_port = free_port()
    async with FakeRealtimeServer(script) as fake:
        env = serve_env(
            sandbox, fake.url, tmp_path, app,
            shutdown_grace_seconds="1",
            metrics_port=str(metrics_port),
            web_port=str(web_port := free_port()),
        )  # fmt: skip
        serve = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "receptionist.cli", "serve", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert serve.stdout is not None
        output: list[str] = []
        while not any("ready" in line for line in output):
            line = await asyncio.wait_for(serve.stdout.readline(), 15)
            assert line, "serve exited early:\n" + "".join(output)
            output.append(line.decode())

        async with (
            EventWatcher(ari, f"{CALLER_APP},{PEOPLE_APP}") as watcher,
            AudioSocketPeer() as ear,
        ):
            variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": SLUG}
            call = await place_call(ari, watcher, ear, "5551234", variables=variables)
            assert call.peer is not None
            await fake.wait_sent("response.done")
            await asyncio.sleep(1.0)
            assert any(tone_spans(call.peer.audio(), 16000, 1000)), "no greeting heard"

            async with aiohttp.ClientSession(f"http://127.0.0.1:{metrics_port}") as http:
                async with http.get("/health") as response:
                    assert response.status == 200
                    health = await response.json()
                    assert health["failing"] == [] and health["active_calls"] == 1
                async with http.get("/metrics") as response:
                    metrics = await response.text()
            assert "receptionist_calls_total 1\n" in metrics
            assert "receptionist_calls_active 1\n" in metrics
            assert "receptionist_ari_connected 1\n" in metrics
            async with (
                aiohttp.ClientSession(f"http://127.0.0.1:{web_port}") as http,
                http.get("/live") as response,  # the web page, behind its login
            ):
                assert response.url.path == "/login" and "Sign in" in await response.text()

            serve.send_signal(signal.SIGTERM)
            [operator] = await reached_operator(ari, watcher, app, PEOPLE_APP)
            assert operator.args == ("operator",)
            rest, _ = await asyncio.wait_for(serve.communicate(), 15)
            output.append(rest.decode())
            assert serve.returncode == 0, "".join(output)
            await ari.hangup(call.dialplan_id)

    logs = "".join(output)
    assert f"call={call.dialplan_id}" in logs  # call lines carry the call id
    assert "sk-test-never-logged" not in logs and sandbox.ari_password not in logs
    code, shown = await run_cli(env, tmp_path, "calls", "show", call.dialplan_id, "--json")
    assert code == 0, shown
    record = json.loads(shown)
    assert "shutting_down" in record["outcomes"]
    assert any("Example Dental" in turn["text"] for turn in record["turns"])
