"""Instances: each its own ARI app and ports; the supervisor restarts a dead worker."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from receptionist.service.instances import instance_settings
from receptionist.service.supervisor import Supervisor, worker_argv
from receptionist.settings import Settings
from tests.unit.conftest import EXAMPLE


def test_instance_gets_its_own_app_and_ports() -> None:
    base = Settings(ari_app="rx", audiosocket_advertise="10.0.0.5:9092")
    second = instance_settings(base, 2)
    assert second.ari_app == "rx-2"
    assert (second.audiosocket_port, second.metrics_port, second.web_port) == (9102, 9107, 9108)
    assert second.audiosocket_advertise == "10.0.0.5:9102"
    assert second.instance is None and second.workers == 1
    first = instance_settings(Settings(metrics_port=0), 1)
    assert first.ari_app == "receptionist-1" and first.metrics_port == 0


def test_instance_ports_past_the_range_are_an_error() -> None:
    with pytest.raises(ValueError, match="65535"):
        instance_settings(Settings(web_port=65530), 3)


def test_worker_command_line_is_one_instance() -> None:
    argv = worker_argv(["--settings", "s.yaml"], 3)
    assert argv[1:] == ["-m", "receptionist.cli", "serve", "--settings", "s.yaml",
                        "--workers", "1", "--instance", "3"]  # fmt: skip


async def test_supervisor_restarts_a_killed_worker_and_stops_all() -> None:
    # A worker that runs until it is signalled (killed by the test, stopped by the supervisor).
    script = "import signal, sys; print('ready', sys.argv[1], flush=True); signal.pause()"
    lines: list[str] = []
    printed = asyncio.Condition()

    def out(line: str) -> None:
        lines.append(line)
        asyncio.get_running_loop().create_task(notify())

    async def notify() -> None:
        async with printed:
            printed.notify_all()

    async def until(text: str) -> None:
        async with printed:
            await printed.wait_for(lambda: any(text in line for line in lines))

    supervisor = Supervisor(
        [1, 2], lambda i: [sys.executable, "-c", script, str(i)], grace_s=0, out=out
    )
    runner = asyncio.create_task(supervisor.run())

    await asyncio.wait_for(until("ready: waiting for calls (2 workers)"), 20)
    first = supervisor.workers[0].process
    assert first is not None
    os.kill(first.pid, signal.SIGKILL)
    await asyncio.wait_for(until("worker 1: pid"), 20)
    await asyncio.wait_for(until("(start 2)"), 20)
    await asyncio.wait_for(until("worker 1: ready 1"), 20)
    assert supervisor.workers[1].starts == 1  # the other one kept running
    supervisor.stop()
    await asyncio.wait_for(runner, 30)
    assert all(w.process and w.process.returncode is not None for w in supervisor.workers)


def test_serve_refuses_workers_whose_ports_do_not_fit(tmp_path: Path) -> None:
    settings = tmp_path / "receptionist.yaml"
    (tmp_path / "businesses").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "businesses")  # a valid business: serve gets that far
    settings.write_text("ari_password: secret\nweb_port: 65530\nbusinesses_dir: businesses\n")
    done = subprocess.run(
        [sys.executable, "-m", "receptionist.cli", "serve", "--settings", str(settings),
         "--workers", "3"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "65535" in done.stderr and "worker 1: pid" not in done.stdout


def test_sandbox_dialplan_tries_every_instance_a_serve_runs() -> None:
    from receptionist.sandbox.instances import instances_to_try

    assert instances_to_try(None, 1) is None  # one plain app
    assert instances_to_try(None, 3) == 3  # <app>-1 .. <app>-3
    assert instances_to_try(3, 2) == 4  # 3 and 4; 1 and 2 fail at once, nobody runs them
    assert instances_to_try(1, 1) == 2  # N = 1 would mean the plain app


def test_a_worker_whose_supervisor_is_gone_does_not_start() -> None:
    # The worker is told a supervisor pid that is not its parent: it refuses to run.
    env = {**os.environ, "RECEPTIONIST_SUPERVISOR_PID": "1"}
    script = "from receptionist.service.supervisor import die_with_supervisor as d; d()"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "supervisor 1 is gone" in done.stderr
