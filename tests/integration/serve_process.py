"""`receptionist serve` as a real process for tests: its environment, start and output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import free_port


def serve_env(
    sandbox: SandboxInfo, tmp_path: Path, *, app: str, realtime_url: str, metrics_port: int
) -> dict[str, str]:
    """Settings for a serve process, all from the environment (as a deployment would)."""
    return {
        **os.environ,
        "RECEPTIONIST_ARI_URL": sandbox.ari_url,
        "RECEPTIONIST_ARI_USER": sandbox.ari_user,
        "RECEPTIONIST_ARI_PASSWORD": sandbox.ari_password,
        "RECEPTIONIST_ARI_APP": app,
        "RECEPTIONIST_AUDIOSOCKET_PORT": str(free_port()),
        "RECEPTIONIST_REALTIME_URL": realtime_url,
        "RECEPTIONIST_REALTIME_API_KEY": "sk-test-never-logged",
        "RECEPTIONIST_DATABASE": str(tmp_path / "calls.db"),
        "RECEPTIONIST_BUSINESSES_DIR": str(tmp_path / "businesses"),
        "RECEPTIONIST_SHUTDOWN_GRACE_SECONDS": "1",
        "RECEPTIONIST_METRICS_PORT": str(metrics_port),
        "RECEPTIONIST_WEB_PORT": str(free_port()),
    }


async def start_serve(
    env: dict[str, str], cwd: Path, output: list[str]
) -> asyncio.subprocess.Process:
    """Start `receptionist serve` and return once it says it is ready; its output keeps
    going to `output` (read in the background so the pipe never fills)."""
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "receptionist.cli", "serve", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert serve.stdout is not None
    STARTED.append(serve)
    while not any("ready" in line for line in output):
        line = await asyncio.wait_for(serve.stdout.readline(), 15)
        assert line, "serve exited early:\n" + "".join(output)
        output.append(line.decode())
    _readers[serve.pid] = asyncio.create_task(_read_rest(serve, output))
    return serve


async def wait_exit(serve: asyncio.subprocess.Process, timeout: float = 15) -> int:
    """Its exit code, once it has exited and all its output has been read."""
    await asyncio.wait_for(serve.wait(), timeout)
    await asyncio.wait_for(_readers.pop(serve.pid), timeout)
    return serve.returncode or 0


_readers: dict[int, asyncio.Task[None]] = {}
# Every serve started here, so a failed test cannot leave one running (tests/conftest.py).
STARTED: list[asyncio.subprocess.Process] = []


def kill_leftovers() -> None:
    """Kill the serve processes a test started and left running (it failed midway)."""
    while STARTED:
        serve = STARTED.pop()
        if serve.returncode is None:  # by pid: the test's event loop may be closed by now
            with contextlib.suppress(ProcessLookupError):
                os.kill(serve.pid, signal.SIGKILL)


async def _read_rest(serve: asyncio.subprocess.Process, output: list[str]) -> None:
    assert serve.stdout is not None
    while line := await serve.stdout.readline():
        output.append(line.decode())
