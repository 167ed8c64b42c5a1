"""`receptionist serve` with a bad business file beside good ones: it serves the good ones
and reports the bad one in its output, /health and /metrics."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import aiohttp
import pytest

from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port
from tests.integration.live import business_yaml
from tests.integration.serve_process import serve_env, start_serve, wait_exit

pytestmark = pytest.mark.integration


async def test_serve_starts_with_the_good_businesses_and_reports_the_bad_one(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    business_yaml(tmp_path / "businesses")
    (tmp_path / "businesses" / "broken.yaml").write_text("name: Broken\nhours: [\n")
    metrics_port = free_port()
    env = serve_env(sandbox, tmp_path, app=f"rx-{uuid.uuid4().hex[:8]}",
                    realtime_url="ws://127.0.0.1:9/v1", metrics_port=metrics_port)  # fmt: skip
    output: list[str] = []
    serve = await start_serve(env, tmp_path, output)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{metrics_port}") as http:
            async with http.get("/health") as response:
                health = await response.json()
            async with http.get("/metrics") as response:
                metrics = await response.text()
    finally:
        serve.send_signal(signal.SIGTERM)
        assert await wait_exit(serve) == 0, "".join(output)
    assert health["status"] == "degraded" and health["ari"] == "connected"
    [error] = health["config_errors"]
    assert "broken.yaml:3" in error and "invalid YAML syntax" in error
    assert "receptionist_business_config_errors 1\n" in metrics
    logs = "".join(output)
    assert "businesses: test-dental" in logs
    assert "business not loaded" in logs and "broken.yaml" in logs
