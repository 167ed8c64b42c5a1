"""README command 1 the way a user runs it: `receptionist serve --sandbox` as a process,
with OPENAI_API_KEY set and RECEPTIONIST_REALTIME_URL at the local fake model. A call
to 100 (what a softphone dials) reaches the model, the caller hears it, and the call
row is written. The sandbox's AudioSocket port is not the default 9092, so this also
shows that Asterisk is told where the service really listens."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import CALLER_APP, AudioSocketPeer, EventWatcher, place_call
from tests.integration.live import RECEPTIONIST, REPO, run_cli, tone_spans
from tests.waiting import eventually

pytestmark = pytest.mark.integration


def user_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any RECEPTIONIST_* the test run may carry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTIONIST_")}
    env.pop("OPENAI_API_KEY", None)
    return {**env, **extra}


async def heard(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until the caller has heard what `check` looks for (polling what arrived)."""
    await eventually(check, timeout, what="the caller hearing it")


async def test_serve_sandbox_with_a_key_reaches_the_model_and_the_caller_hears_it(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    assert not sandbox.audiosocket.endswith(":9092")
    checkout = tmp_path / "checkout"  # a checkout's config/, so data/ lands in tmp_path
    shutil.copytree(REPO / "config", checkout / "config")
    script = Script(replies=[Reply(tone24(1000, 0.6), "Thanks for calling Example Dental.")])
    async with FakeRealtimeServer(script) as fake:
        env = user_env(
            OPENAI_API_KEY="sk-test-never-printed",
            RECEPTIONIST_REALTIME_URL=fake.url,
            RECEPTIONIST_SANDBOX=sandbox.name,  # the running test sandbox, reused
            RECEPTIONIST_METRICS_PORT=str(free_port()),
            RECEPTIONIST_WEB_PORT=str(free_port()),
            # As if the shipped Asterisk configs had been installed unedited.
            RECEPTIONIST_ASTERISK_CONFIG_DIR=str(REPO / "asterisk"),
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
            async with (
                EventWatcher(ari, CALLER_APP) as watcher,
                AudioSocketPeer() as ear,
            ):
                # No channel variables: the dialplan's own app and default business,
                # exactly what a softphone dialling 100 gets.
                call = await place_call(ari, watcher, ear, "100")
                assert call.peer is not None
                await fake.wait_sent("response.done")
                await heard(lambda: any(tone_spans(call.peer.audio(), 16000, 1000)))
                await ari.hangup(call.dialplan_id)
        finally:
            serve.terminate()
            rest, _ = await asyncio.wait_for(serve.communicate(), 30)
            output.append(rest.decode())
    logs = "".join(output)
    assert "Connecting to" not in logs and "ari_error" not in logs, logs
    assert sandbox.ari_password not in logs and "sk-test-never-printed" not in logs
    assert "ari.conf:15: password is still CHANGE-ME-AT-INSTALL" in logs
    code, shown = await run_cli(env, checkout, "calls", "show", call.dialplan_id, "--json")
    assert code == 0, shown
    record = json.loads(shown)
    assert record["business"] == "example-dental"
    assert any("Example Dental" in turn["text"] for turn in record["turns"])
    assert "ari_error" not in record["outcomes"]
    assert (checkout / "data" / "receptionist.db").is_file()
