"""`serve --workers N`: N receptionist processes (instances) under one supervisor.

Each worker is `receptionist serve --instance I` (its own ARI app and ports, see
receptionist.service.instances). The supervisor relays their output line by line, prefixed
with the worker, says `ready` once every worker is, restarts a worker that dies (with
a backoff, so a worker that cannot start does not spin), and on SIGTERM/SIGINT passes
the signal on and waits for the workers to drain.

Workers die with their supervisor: each is told the supervisor's pid (SUPERVISOR_ENV)
and asks the kernel for SIGKILL when its parent dies (die_with_supervisor). So a
supervisor killed with SIGKILL (OOM, `kill -9`) leaves no worker holding its ports, and
the supervisor restarted by systemd starts afresh; the callers those workers had are
handed to the fallback by the new workers' reclaim, as after any killed instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from receptionist.core.logs import log
from receptionist.core.waiting import wait_set

logger = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
RESTART_DELAY_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0  # a worker that ran this long restarts without delay
STOP_EXTRA_S = 15.0  # on top of the drain grace, before SIGKILL
SUPERVISOR_ENV = "RECEPTIONIST_SUPERVISOR_PID"  # set for the workers only
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass
class Worker:
    instance: int
    argv: list[str]
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def worker_argv(serve_args: Sequence[str], instance: int) -> list[str]:
    """The command line of one worker: this `serve` as a single instance."""
    return [sys.executable, "-m", "receptionist.cli", "serve", *serve_args,
            "--workers", "1", "--instance", str(instance)]  # fmt: skip


def die_with_supervisor() -> bool:
    """In a worker: be killed (SIGKILL) the moment the supervisor that started it dies;
    whether this process is a supervisor's worker.

    No-op (False) outside a supervisor. Exits at once if the supervisor is already gone (it died
    between starting this process and this call, before the kernel could be asked).
    """
    supervisor = os.environ.pop(SUPERVISOR_ENV, None)  # not for this worker's own children
    if supervisor is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != int(supervisor):
        raise SystemExit(f"receptionist serve: supervisor {supervisor} is gone; not starting")
    return True


class Supervisor:
    def __init__(
        self,
        instances: Sequence[int],
        argv_for: Callable[[int], list[str]],
        *,
        grace_s: float,
        out: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.workers = [Worker(i, argv_for(i)) for i in instances]
        self._grace_s = grace_s
        self._out = out
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Run the workers until stop(), then stop them gently."""
        tasks = [
            asyncio.create_task(self._keep(w), name=f"worker:{w.instance}") for w in self.workers
        ]
        announce = asyncio.create_task(self._announce())
        try:
            await self._stopping.wait()
        finally:
            announce.cancel()
            await self._stop_all()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, announce, return_exceptions=True)

    async def _announce(self) -> None:
        await asyncio.gather(*(w.ready.wait() for w in self.workers))
        self._out(f"ready: waiting for calls ({len(self.workers)} workers)")

    async def _keep(self, worker: Worker) -> None:
        delay = RESTART_DELAY_S
        while not self._stopping.is_set():
            started = time.monotonic()
            code = await self._run_once(worker)
            if self._stopping.is_set():
                return
            log(logger, logging.ERROR, "worker exited, restarting",
                instance=worker.instance, returncode=code)  # fmt: skip
            delay = RESTART_DELAY_S if time.monotonic() - started > HEALTHY_AFTER_S else delay
            await wait_set(self._stopping, delay)
            delay = min(delay * 2, RESTART_DELAY_MAX_S)

    async def _run_once(self, worker: Worker) -> int:
        # Started from the event loop's (the main) thread: the parent-death signal follows
        # the thread that forked, so it must be one that lives as long as the supervisor.
        worker.process = process = await asyncio.create_subprocess_exec(
            *worker.argv, stdout=asyncio.subprocess.PIPE, start_new_session=True,
            env={**os.environ, SUPERVISOR_ENV: str(os.getpid())},
        )  # fmt: skip
        worker.starts += 1
        self._out(f"worker {worker.instance}: pid {process.pid} (start {worker.starts})")
        assert process.stdout is not None
        while line := await process.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            self._out(f"worker {worker.instance}: {text}")
            if text.startswith("ready"):
                worker.ready.set()
        return await process.wait()

    async def _stop_all(self) -> None:
        running = [w.process for w in self.workers if w.process and w.process.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if not running:
            return
        waits = [asyncio.create_task(p.wait()) for p in running]
        _, late = await asyncio.wait(waits, timeout=self._grace_s + STOP_EXTRA_S)
        for process in running:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        if late:
            await asyncio.wait(late)


async def supervise(instances: Sequence[int], serve_args: Sequence[str], *, grace_s: float) -> None:
    """Run `serve_args` as one worker per instance until SIGTERM/SIGINT."""
    supervisor = Supervisor(instances, lambda i: worker_argv(serve_args, i), grace_s=grace_s)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, supervisor.stop)
    try:
        await supervisor.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
