"""The supervisor of `serve --workers N`: its workers die with it, and the sandbox's
dialplan reaches its workers.

- `kill -9` of the supervisor: every worker is gone within OUTLIVE_MAX_S (each worker's
  pid is watched through a pidfd, so the test waits on the kernel's word, not a sleep),
  and a supervisor started again on the same ports gets each worker up at its first try.
- `serve --sandbox --workers 2` as a user runs it: a call to 100 (what a softphone dials)
  is answered by one of the workers; after `kill -9` of that worker, new calls to 100 are
  answered by the other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import Sandbox, SandboxInfo
from receptionist.sandbox.launcher import free_port
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    eventually,
    place_call,
)
from tests.integration.live import RECEPTIONIST, REPO, business_yaml
from tests.integration.serve_process import serve_env
from tests.integration.test_readme_serve import user_env
from tests.integration.test_workers import Output, _answered_by

pytestmark = pytest.mark.integration

OUTLIVE_MAX_S = 1.0  # how long a worker may outlive its killed supervisor
READY_S = 30.0


async def _supervisor(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[
    asyncio.subprocess.Process, Output
]:  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    out = Output(process.stdout)
    try:
        await eventually(lambda: "ready: waiting for calls (2 workers)" in out.text(), READY_S)
    except TimeoutError:
        process.kill()
        pytest.fail("the supervisor never said ready:\n" + out.text())
    return process, out


async def _gone_after(pid: int, since: float) -> float | None:
    """Seconds from `since` until process `pid` ended; None if it outlived OUTLIVE_MAX_S."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:  # already gone
        return time.monotonic() - since
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[float] = loop.create_future()
    # A pidfd becomes readable when its process ends.
    loop.add_reader(pidfd, lambda: ended.done() or ended.set_result(time.monotonic()))
    try:
        return await asyncio.wait_for(ended, since + OUTLIVE_MAX_S - time.monotonic()) - since
    except TimeoutError:
        return None
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def test_workers_die_with_a_killed_supervisor_and_free_its_ports(
    sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object]
) -> None:
    business_yaml(tmp_path / "businesses")
    app = f"rx-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "receptionist.cli", "serve", "--workers", "2"]
    async with FakeRealtimeServer(Script(replies=[])) as fake:
        # Fixed AudioSocket and web ports (worker 2 on +10): a worker left holding them
        # would stop the next supervisor's workers from listening.
        env = serve_env(sandbox, tmp_path, app=app, realtime_url=fake.url, metrics_port=0)
        first, out = await _supervisor(argv, env, tmp_path)
        workers = [out.pids[1], out.pids[2]]
        try:
            first.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            lags = await asyncio.gather(*(_gone_after(pid, killed_at) for pid in workers))
            report["worker_outlived_killed_supervisor_ms"] = [
                None if lag is None else round(lag * 1000, 1) for lag in lags
            ]
            assert None not in lags, f"workers {workers} outlived their supervisor: {lags}"
            await first.wait()

            second, again = await _supervisor(argv, env, tmp_path)
            try:
                # Each worker listened at its first start: nothing held the ports.
                assert "(start 2)" not in again.text() and "cannot listen" not in again.text()
            finally:
                second.send_signal(signal.SIGTERM)
                await asyncio.wait_for(second.wait(), 30)
            assert second.returncode == 0, again.text()
        finally:
            _kill(workers)


async def test_serve_sandbox_with_workers_answers_100_and_survives_a_killed_worker(
    tmp_path: Path,
) -> None:
    box = Sandbox(f"pytest-{os.getpid()}-workers", people_app=PEOPLE_APP)
    info = box.start()
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "config", checkout / "config")
    greeting = Reply(tone24(1000, 1.0), "Thanks for calling Example Dental.")
    try:
        async with (
            FakeRealtimeServer(Script(replies=[greeting] * 6)) as fake,
            AriClient(info.ari_url, info.ari_user, info.ari_password) as ari,
        ):
            env = user_env(
                OPENAI_API_KEY="sk-test-never-printed",
                RECEPTIONIST_REALTIME_URL=fake.url,
                RECEPTIONIST_SANDBOX=info.name,
                RECEPTIONIST_METRICS_PORT="0",
                RECEPTIONIST_WEB_PORT=str(free_port()),
                RECEPTIONIST_SHUTDOWN_GRACE_SECONDS="0",
            )
            argv = [str(RECEPTIONIST), "serve", "--sandbox", "--workers", "2"]
            serve, out = await _supervisor(argv, env, checkout)
            try:
                async with EventWatcher(ari, CALLER_APP) as watcher, AudioSocketPeer() as ear:
                    # No channel variables: what a softphone dialling 100 gets.
                    first = await place_call(ari, watcher, ear, "100")
                    app = await _answered_by(ari, first, fake)
                    assert app in (f"{info.app}-1", f"{info.app}-2")
                    killed = int(app.rsplit("-", 1)[1])
                    other = f"{info.app}-{3 - killed}"
                    dead = out.pids[killed]
                    os.kill(dead, signal.SIGKILL)
                    await eventually(lambda: out.pids[killed] != dead, 10)  # reaped
                    for _ in range(3):
                        placed_at = time.monotonic()
                        call = await place_call(ari, watcher, ear, "100")
                        answered = await _answered_by(ari, call, fake)
                        back = out.ready_at.get(killed)
                        if back is None or back > placed_at:  # not yet restarted
                            assert answered == other
                        reason = await ari.get_variable(
                            call.dialplan_id, "RECEPTIONIST_FALLBACK_REASON"
                        )
                        assert not reason
                        await ari.hangup(call.dialplan_id)
            finally:
                serve.send_signal(signal.SIGTERM)
                await asyncio.wait_for(serve.wait(), 30)
            assert serve.returncode == 0, out.text()
            assert "sk-test-never-printed" not in out.text()
            # The sandbox is described once, by the supervisor, not again by each worker.
            assert out.text().count("dial 100 to reach the receptionist") == 1
    finally:
        box.stop()
