"""`receptionist serve --workers 2` on the sandbox: both instances take calls, and when one
is killed with SIGKILL new calls go to the other with no fallback; the supervisor then
restarts the dead one."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from receptionist.ari import AriClient, StasisStart
from receptionist.audio.tones import tone
from receptionist.sandbox import SandboxInfo
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
from tests.integration.live import SLUG, business_yaml, receptionist, tone_spans
from tests.integration.serve_process import serve_env

pytestmark = pytest.mark.integration

CALLS_AFTER_KILL = 6  # each starts the hunt at a random instance: most try the dead one


class Output:
    """The supervisor's stdout, read as it comes: worker pids and when each was ready."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self.pids: dict[int, int] = {}
        self.ready_at: dict[int, float] = {}
        self._task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := (await stream.readline()).decode():
            self.lines.append(line)
            if found := re.match(r"worker (\d+): pid (\d+)", line):
                self.pids[int(found[1])] = int(found[2])
                self.ready_at.pop(int(found[1]), None)
            elif found := re.match(r"worker (\d+): ready", line):
                self.ready_at[int(found[1])] = time.monotonic()

    def text(self) -> str:
        return "".join(self.lines)


async def _answered_by(ari: AriClient, call: Call, fake: FakeRealtimeServer) -> str:
    """The instance app that has the call, once the caller hears the greeting."""
    assert call.peer is not None
    peer = call.peer
    await eventually(lambda: any(tone_spans(peer.audio(), 16000, 1000)), 15)
    app = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_INSTANCE_APP")
    assert app is not None
    return app


async def test_two_workers_share_calls_and_survive_a_killed_one(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    business_yaml(tmp_path / "businesses")
    app = f"rx-{uuid.uuid4().hex[:8]}"
    greeting = Reply(tone24(1000, 1.0), "Thanks for calling Example Dental.")
    script = Script(replies=[greeting] * (4 + CALLS_AFTER_KILL + 2))  # one per call
    async with FakeRealtimeServer(script) as fake:
        env = serve_env(sandbox, tmp_path, app=app, realtime_url=fake.url, metrics_port=0)
        # Any free ports: each worker moves the configured ones up by 10, which may be taken.
        env |= {"RECEPTIONIST_SHUTDOWN_GRACE_SECONDS": "0", "RECEPTIONIST_WEB_PORT": "0"}
        serve = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "receptionist.cli", "serve", "--workers", "2",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert serve.stdout is not None
        out = Output(serve.stdout)
        try:
            await eventually(lambda: "ready: waiting for calls (2 workers)" in out.text(), 30)
            variables = {
                "__RECEPTIONIST_APP": app,
                "__RECEPTIONIST_INSTANCES": "2",
                "__RECEPTIONIST_BUSINESS": SLUG,
            }
            async with (
                EventWatcher(ari, f"{CALLER_APP},{PEOPLE_APP}") as watcher,
                AudioSocketPeer() as ear,
            ):
                before = [
                    await place_call(ari, watcher, ear, "5551234", variables=variables)
                    for _ in range(4)
                ]
                for call in before:
                    assert await _answered_by(ari, call, fake) in (f"{app}-1", f"{app}-2")

                dead = out.pids[1]
                os.kill(dead, signal.SIGKILL)
                killed_at = time.monotonic()
                # SIGKILL takes effect a moment later (a call routed within those few ms
                # still reaches the dying instance): start once the supervisor reaped it.
                await eventually(lambda: out.pids[1] != dead, 10)
                after = []
                for _ in range(CALLS_AFTER_KILL):
                    placed_at = time.monotonic()
                    call = await place_call(ari, watcher, ear, "5551234", variables=variables)
                    answered = await _answered_by(ari, call, fake)
                    back = out.ready_at.get(1)
                    if back is None or back > placed_at:  # worker 1 not yet restarted
                        assert answered == f"{app}-2"
                    after.append(call)
                # No caller reached the fallback: no stand-in operator was called.
                operators = [
                    e.channel.id for e in watcher.events
                    if isinstance(e, StasisStart) and e.application == PEOPLE_APP
                    and await ari.get_variable(e.channel.id, "RECEPTIONIST_APP") == app
                ]  # fmt: skip
                assert operators == []

                # The supervisor restarted worker 1, and it takes calls again.
                await eventually(lambda: out.ready_at.get(1, 0) > killed_at, 30)
                assert "worker 1: pid" in out.text()
                for call in before + after:
                    await ari.hangup(call.dialplan_id)
        finally:
            serve.send_signal(signal.SIGTERM)
            await asyncio.wait_for(serve.wait(), 30)
    assert serve.returncode == 0, out.text()
    assert "sk-test-never-logged" not in out.text()


async def test_a_recording_detour_comes_back_to_the_instance_that_has_the_call(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    # Only instance 2 of 2 runs, so the hunt ends there whichever instance it tries first.
    # Full-call recording sends the caller through the dialplan ([receptionist-record]) and
    # back into Stasis: back into that instance's app, which alone knows the call.
    base = f"rx-{uuid.uuid4().hex[:8]}"
    script = Script(
        replies=[Reply(tone24(1000, 1.0), "This call may be recorded. How can I help?"),
                 Reply(tone24(1400, 1.0), "Our hours are nine to five.")],
        caller_transcripts=["When are you open?"],
    )  # fmt: skip

    def full(data: dict[str, Any]) -> None:
        data["recording"]["mode"] = "full"

    variables = {"__RECEPTIONIST_APP": base, "__RECEPTIONIST_INSTANCES": "2",
                 "__RECEPTIONIST_BUSINESS": SLUG}  # fmt: skip
    async with (
        receptionist(
            sandbox, tmp_path, script, recording=True, edit=full, app_name=f"{base}-2"
        ) as live,  # fmt: skip
        EventWatcher(ari, CALLER_APP) as watcher,
        AudioSocketPeer() as ear,
    ):
        live.fake.replies_open.clear()  # the greeting waits until the caller listens
        try:
            call = await place_call(ari, watcher, ear, "5551234", variables=variables)
        finally:
            live.fake.replies_open.set()
        assert call.peer is not None
        peer = call.peer
        instance = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_INSTANCE_APP")
        assert instance == f"{base}-2"
        await eventually(lambda: ari.get_variable(call.dialplan_id, "CDR(recordingfile)"), 10)
        await peer.send_paced(tone(440, 1500))  # the caller asks; the answer is 1400 Hz
        await peer.send_paced(bytes(16000 * 2))
        await eventually(lambda: any(tone_spans(peer.audio(), 16000, 1400)), 15)
        reason = await ari.get_variable(call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON")
        assert not reason
        await ari.hangup(call.dialplan_id)
