"""`receptionist serve` as a real process: configured from the environment, answers a
call, drains on SIGTERM, and leaves a call log that `receptionist calls show` prints."""

from __future__ import annotations

import json
import signal
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
from tests.integration.live import SLUG, business_yaml, has_tone, run_cli
from tests.integration.serve_process import serve_env, start_serve, wait_exit

pytestmark = pytest.mark.integration


async def test_serve_process_answers_drains_on_sigterm_and_logs_the_call(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    business_yaml(tmp_path / "businesses")
    app = f"rx-{uuid.uuid4().hex[:8]}"
    script = Script(replies=[Reply(tone24(1000, 0.6), "Thanks for calling Example Dental.")])
    metrics_port = free_port()
    async with FakeRealtimeServer(script) as fake:
        env = serve_env(sandbox, tmp_path, app=app, realtime_url=fake.url,
                        metrics_port=metrics_port)  # fmt: skip
        web_port = int(env["RECEPTIONIST_WEB_PORT"])
        output: list[str] = []
        serve = await start_serve(env, tmp_path, output)

        async with (
            EventWatcher(ari, f"{CALLER_APP},{PEOPLE_APP}") as watcher,
            AudioSocketPeer() as ear,
        ):
            variables = {"__RECEPTIONIST_APP": app, "__RECEPTIONIST_BUSINESS": SLUG}
            call = await place_call(ari, watcher, ear, "5551234", variables=variables)
            assert call.peer is not None
            await fake.wait_sent("response.done")
            await call.peer.wait_frames(has_tone(1000), 1)  # the greeting is heard

            async with aiohttp.ClientSession(f"http://127.0.0.1:{metrics_port}") as http:
                async with http.get("/health") as response:
                    assert response.status == 200
                    health = await response.json()
                    assert health["failing"] == [] and health["active_calls"] == 1
                    assert health["status"] == "ok" and health["deliveries"]["status"] == "ok"
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
            assert 'receptionist_deliveries_total{result="failed"} 0\n' in metrics

            serve.send_signal(signal.SIGTERM)
            [operator] = await reached_operator(ari, watcher, app, PEOPLE_APP)
            assert operator.args == ("operator",)
            assert await wait_exit(serve) == 0, "".join(output)
            await ari.hangup(call.dialplan_id)

    logs = "".join(output)
    assert f"call={call.dialplan_id}" in logs  # call lines carry the call id
    assert "sk-test-never-logged" not in logs and sandbox.ari_password not in logs
    code, shown = await run_cli(env, tmp_path, "calls", "show", call.dialplan_id, "--json")
    assert code == 0, shown
    record = json.loads(shown)
    assert "shutting_down" in record["outcomes"]
    assert any("Example Dental" in turn["text"] for turn in record["turns"])
