"""The processes under measurement: the receptionist service and the fake model, each in
its own process, plus what /proc says about any process's CPU time and memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from receptionist.sandbox import SandboxInfo
from receptionist.service.instances import app_name
from tests.integration.live import SLUG, business_yaml

CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 30.0
# CPU priorities (nice). The callers' ear is the measuring instrument: it goes first, so
# what it records is the system under test, not its own wait for a CPU. The model goes
# last: on a real box it is far away and takes no CPU at all.
DRIVER_NICE = -5
MODEL_NICE = 10


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used so far (all cores), in seconds:
    what /proc/stat counts as user, nice, system, irq and softirq time."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / CLK_TCK


def memory_kib(pid: int) -> dict[str, int]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def descendants(root: int) -> list[int]:
    """`root` and every process below it (e.g. Asterisk under the sandbox's unshare)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


@dataclass
class Proc:
    """A child process started by the benchmark, with the first line it printed."""

    process: asyncio.subprocess.Process
    ready_line: str

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.asynccontextmanager
async def child(args: list[str], ready: str, *, env: dict[str, str] | None = None,
                log: Path | None = None, nice: int = 0) -> AsyncIterator[Proc]:  # fmt: skip
    """Run `args` until the block ends (SIGTERM, then SIGKILL); wait for a stdout line
    starting with `ready` first."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    stderr = os.open(log, flags) if log else asyncio.subprocess.DEVNULL
    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, **(env or {})},
        # Absolute niceness: the driver itself may run at a higher priority.
        preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, nice),
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            while not (line := (await process.stdout.readline()).decode()).startswith(ready):
                if not line:
                    raise RuntimeError(
                        f"{' '.join(args[1:4])} exited before it was ready (see {log})"
                    )
        yield Proc(process, line.strip())
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if log:
            os.close(stderr)


@contextlib.asynccontextmanager
async def model_process(
    think_ms: float,
    greeting_s: float,
    reply_s: float,
    realtime_factor: float = 1.5,
    *,
    turns: bool = True,
) -> AsyncIterator[tuple[Proc, str, str]]:
    """The fake model; yields (process, websocket base URL, stats URL)."""
    args = [sys.executable, "-m", "benchmarks.model", f"--think-ms={think_ms}",
            f"--greeting-s={greeting_s}", f"--reply-s={reply_s}",
            f"--realtime-factor={realtime_factor}"] + ([] if turns else ["--no-turns"])  # fmt: skip
    async with child(args, "port ", nice=MODEL_NICE) as proc:
        ws_port, stats_port = proc.ready_line.split()[1:]
        yield proc, f"ws://127.0.0.1:{ws_port}/v1", f"http://127.0.0.1:{stats_port}/stats"


@contextlib.asynccontextmanager
async def pipeline_process(
    greeting_s: float, realtime_factor: float = 1.5
) -> AsyncIterator[tuple[Proc, str, str]]:
    """The fake pipeline servers; yields (process, base URL, stats URL)."""
    args = [sys.executable, "-m", "benchmarks.pipeline_model", f"--greeting-s={greeting_s}",
            f"--realtime-factor={realtime_factor}"]  # fmt: skip
    async with child(args, "port ", nice=MODEL_NICE) as proc:
        port, stats_port = proc.ready_line.split()[1:]
        yield proc, f"http://127.0.0.1:{port}/v1", f"http://127.0.0.1:{stats_port}/stats"


def pipeline_section(base_url: str) -> dict[str, object]:
    """A `model:` section with all three pipeline endpoints on the fake servers."""
    end = {"base_url": base_url}
    return {"provider": "pipeline", "transcription": {**end, "model": "whisper-1"},
            "chat": {**end, "model": "llama3.1"},
            "speech": {**end, "model": "tts-1", "voice": "alloy"}}  # fmt: skip


@contextlib.asynccontextmanager
async def receptionist_process(
    sandbox: SandboxInfo,
    model_url: str,
    work: Path,
    app: str,
    *,
    pipeline: bool = False,
    leg_format: str = "auto",
) -> AsyncIterator[Proc]:
    """`receptionist serve` on the sandbox, as an admin would run it (INFO logs to a file)."""
    business_yaml(work / "businesses")
    settings = {
        "ari_url": sandbox.ari_url,
        "ari_user": sandbox.ari_user,
        "ari_app": app,
        "audiosocket_port": 0,
        "audiosocket_format": leg_format,
        "metrics_port": 0,
        "web_port": 0,
        "realtime_url": None if pipeline else model_url,
        "database": str(work / "receptionist.db"),
        "businesses_dir": str(work / "businesses"),
        "default_business": SLUG,
        "silence_timeout_seconds": 3600,  # the callers here listen quietly on purpose
        "shutdown_grace_seconds": 0,
        "recordings_dir": str(Path(sandbox.run_dir) / "spool" / "recording"),
    }
    if pipeline:  # the service default, so every business's calls take the pipeline
        settings["model"] = pipeline_section(model_url)
    settings = {k: v for k, v in settings.items() if v is not None}
    path = work / "settings.yaml"
    path.write_text(yaml.safe_dump(settings))
    secrets = {  # secrets come from the environment, as in production
        "RECEPTIONIST_ARI_PASSWORD": sandbox.ari_password,
        "RECEPTIONIST_REALTIME_API_KEY": "bench-key",
    }
    args = [sys.executable, "-m", "receptionist.cli", "serve", "--settings", str(path)]
    async with child(args, "ready", env=secrets, log=work / "receptionist.log") as proc:
        yield proc


def instance_homes(work: Path, app: str, instances: int) -> list[tuple[Path, str]]:
    """(work directory, ARI app) of each receptionist process: one plain app, or the
    instances <app>-1 .. <app>-N that the dialplan tries in turn."""
    if instances == 1:
        return [(work, app)]
    return [(work / f"instance-{i}", app_name(app, i)) for i in range(1, instances + 1)]
