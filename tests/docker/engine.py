"""A Docker engine for the compose test: installed, started and given base images.

On a machine without Docker this installs Debian's engine and compose, starts
`dockerd` without touching the host's network (no iptables rules, no bridge:
the stack uses host networking) and stops it again afterwards. When the image
registry cannot be reached, the base images the Dockerfiles name are made
locally by `make docker-bases` (docker/bases.sh, what docker/README.md tells an
admin to run), and the output says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from receptionist.sandbox.chroot import cache_dir

ROOT = Path(__file__).resolve().parents[2]


class EngineError(RuntimeError):
    """A plain-language reason the Docker engine cannot be had."""


NOTES: list[str] = []  # what this run did to the machine: shown in the test summary too


def say(message: str) -> None:
    NOTES.append(message)
    print(f"docker-test: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], what: str, *, timeout: float = 900, **kwargs: object) -> str:
    """Run a command; on failure raise with its last lines, so the test says why."""
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=False, timeout=timeout, **kwargs
    )  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise EngineError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return str(proc.stdout)


@dataclass
class Engine:
    docker: str  # the client that talks to the daemon
    compose: list[str]  # `docker-compose` or `docker compose`
    started: subprocess.Popen[bytes] | None = None  # the dockerd this run started, to stop
    log: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __call__(self, *args: str, what: str = "", timeout: float = 900) -> str:
        return run([self.docker, *args], what or f"docker {args[0]}", timeout=timeout)


def _engine_binaries() -> tuple[str | None, list[str] | None]:
    """The engine package's own client (a client alone can't start a daemon) and compose."""
    docker = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
    compose: list[str] | None = None
    if shutil.which("docker-compose"):
        compose = [str(shutil.which("docker-compose"))]
    elif (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        compose = [docker, "compose"]
    return docker, compose


def install() -> None:
    """Debian's engine and compose, when dockerd or compose is missing."""
    docker, compose = _engine_binaries()
    if shutil.which("dockerd") and docker and compose:
        return
    if os.geteuid() != 0:
        raise EngineError("installing Docker needs root (apt-get install docker.io docker-compose)")
    say("installing Docker from Debian's packages (docker.io, docker-compose)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    run(["apt-get", *lock, "update", "-q"], "apt-get update", env=env)
    packages = ["docker.io", "docker-compose"]
    run(["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends", *packages],
        "apt-get install docker.io docker-compose", env=env)  # fmt: skip


def _answers(docker: str) -> bool:
    return subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0


def start() -> Engine:
    """A daemon that answers: the running one, or one started here (overlay2, else vfs)."""
    install()
    docker, compose = _engine_binaries()
    if docker is None or compose is None:
        raise EngineError("Docker is installed but its client or compose is missing")
    engine = Engine(docker, compose)
    if _answers(docker):
        say("using the Docker engine already running")
        return engine
    state = cache_dir() / "docker"
    state.mkdir(parents=True, exist_ok=True)
    for driver in ("overlay2", "vfs"):
        engine.log = state / f"dockerd-{driver}.log"
        cmd = ["dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
               f"--storage-driver={driver}"]  # fmt: skip
        with engine.log.open("w") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers(docker):
                engine.started = proc
                say(f"started dockerd (pid {proc.pid}, storage {driver}); stopped at the end")
                return engine
            time.sleep(0.5)
        _stop_pid(proc)
        say(f"dockerd with {driver} did not come up; see {engine.log}")
    raise EngineError(f"dockerd did not start; its log: {engine.log}")


def _stop_pid(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # dockerd stops its containerd and containers with it
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop(engine: Engine) -> None:
    """Stop dockerd if this run started it (only that process: others may use Docker too)."""
    if engine.started is None:
        return
    _stop_pid(engine.started)
    say(f"stopped the dockerd this run started (pid {engine.started.pid})")


def ensure_bases(engine: Engine) -> None:
    """Each base image present, as an admin gets them: `make docker-bases`, which runs
    docker/bases.sh (pulled from the registry, or made here with debootstrap)."""
    started = time.monotonic()
    env = {**os.environ, "DOCKER": engine.docker}
    made = subprocess.run(["make", "-s", "-C", str(ROOT), "docker-bases"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False, timeout=1800)  # fmt: skip
    for line in made.stdout.splitlines():
        if line.startswith("docker-bases: "):
            say(line.removeprefix("docker-bases: "))
    if made.returncode != 0:
        tail = "\n".join(made.stdout.strip().splitlines()[-25:])
        raise EngineError(f"make docker-bases failed (exit {made.returncode}):\n{tail}")
    engine.timings["base images"] = time.monotonic() - started


def extra_ca_bundle() -> str:
    """The local CAs this host trusts on top of the defaults (a TLS-re-signing proxy's)."""
    local = Path("/usr/local/share/ca-certificates")
    return "".join(path.read_text() for path in sorted(local.rglob("*.crt")))
