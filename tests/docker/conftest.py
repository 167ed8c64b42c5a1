"""The compose stack as a user runs it: engine, base images, build, `compose up`.

Ports are free ones picked per run (host networking shares the machine's ports), set
the way docker/README.md tells an admin to: an http.conf and a pjsip.conf made from
the shipped asterisk/ files in the directory mounted as /etc/asterisk/local, and the
receptionist's RECEPTIONIST_* variables through compose's environment.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from receptionist.sandbox import ensure_chroot
from receptionist.sandbox.launcher import free_port
from tests.docker import engine as docker_engine
from tests.docker.engine import Engine, EngineError

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
PROJECT = "receptionist-dockertest"
HEALTHY_TIMEOUT_S = 120.0
TIMINGS: dict[str, float] = {}


@dataclass
class Stack:
    engine: Engine
    env_file: Path  # docker/.env as the README has an admin write it
    settings: dict[str, str]  # what goes in env_file
    env: dict[str, str]  # the process environment, without any setting that would win
    sip_port: int
    metrics_port: int
    ari_password: str

    def write_env_file(self) -> None:
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.settings.items()))
        self.env_file.chmod(0o600)

    def compose(self, *args: str, what: str = "", timeout: float = 900) -> str:
        cmd = [*self.engine.compose, "--env-file", str(self.env_file), "-p", PROJECT,
               "-f", str(COMPOSE_FILE), *args]  # fmt: skip
        return docker_engine.run(cmd, what or f"compose {args[0]}", env=self.env, timeout=timeout)

    def exec(self, service: str, *argv: str, user: str | None = None) -> str:
        as_user = ["-u", user] if user else []
        return self.compose("exec", "-T", *as_user, service, *argv, what=" ".join(argv[:3]))

    def restart_receptionist(self, **env: str) -> None:
        """Recreate the receptionist with changed settings, as an admin editing .env does."""
        self.settings.update(env)
        self.write_env_file()
        self.compose("up", "-d", "receptionist", what="compose up receptionist")
        wait_healthy(self, "receptionist")

    def health(self, service: str) -> str:
        ids = self.compose("ps", "-q", service).split()
        assert ids, f"compose has no {service} container"
        return self.engine("inspect", "--format", "{{.State.Health.Status}}", ids[0]).strip()


def _edit(text: str, replacements: dict[str, str], name: str) -> str:
    for old, new in replacements.items():
        # The shipped file changed shape: say so rather than run a half-configured Asterisk.
        assert old in text, f"{name} no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def local_configs(directory: Path, sip_port: int, ari_port: int) -> None:
    """An admin's /etc/asterisk/local: the shipped files with this site's values put in."""
    # Readable by the container's asterisk user (another uid): the directory is mounted.
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    shipped = ROOT / "asterisk"
    pjsip = _edit(
        (shipped / "pjsip.conf").read_text(),
        {
            "bind = 0.0.0.0:5060": f"bind = 127.0.0.1:{sip_port}",
            "198.51.100.1:5060": "127.0.0.1:5999",  # the provider: sipp on loopback
            "match = 198.51.100.1": "match = 127.0.0.1",
            "password = SECRET": f"password = {secrets.token_hex(12)}",
        },
        "asterisk/pjsip.conf",
    )
    while "CHANGE-ME-AT-INSTALL" in pjsip:
        pjsip = pjsip.replace("CHANGE-ME-AT-INSTALL", secrets.token_hex(12), 1)
    (directory / "pjsip.conf").write_text(pjsip)
    (directory / "pjsip.conf").chmod(0o644)
    port = {"bindport = 8088": f"bindport = {ari_port}"}
    (directory / "http.conf").write_text(
        _edit((shipped / "http.conf").read_text(), port, "asterisk/http.conf")
    )
    (directory / "http.conf").chmod(0o644)


def _udp_port() -> int:
    return free_port(kind=socket.SOCK_DGRAM)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    started = time.monotonic()
    try:
        running = docker_engine.start()
    except EngineError as error:
        pytest.fail(str(error), pytrace=False)
    TIMINGS["engine (install/start)"] = time.monotonic() - started
    try:
        started = time.monotonic()
        docker_engine.ensure_bases(running)
        TIMINGS["base images"] = time.monotonic() - started
        yield running
    finally:
        docker_engine.stop(running)


@pytest.fixture(scope="session")
def sipp_root() -> Path:
    """sipp comes from the sandbox chroot (built once, cached), a real SIP client."""
    return ensure_chroot().path


@pytest.fixture(scope="session")
def stack(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("docker")
    local = work / "asterisk.local"
    sip_port, ari_port = _udp_port(), free_port()
    local_configs(local, sip_port, ari_port)
    metrics_port = free_port()
    # The ARI password as a secret file (docker/README.md step 1, the file way).
    secret_dir = work / "secrets"
    secret_dir.mkdir(mode=0o755)
    password = secrets.token_hex(16)
    (secret_dir / "ari_password").write_text(password + "\n")
    (secret_dir / "ari_password").chmod(0o644)
    # The shipped config, with the example business asking for call recording.
    config = work / "config"
    shutil.copytree(ROOT / "config", config)
    business = config / "businesses" / "example-dental.yaml"
    record = {"recording:\n  enabled: false": "recording:\n  enabled: true"}
    business.write_text(
        _edit(business.read_text(), record, "config/businesses/example-dental.yaml")
    )
    settings = {
        "RECEPTIONIST_CONFIG_DIR": str(config),
        "RECEPTIONIST_ARI_PASSWORD_FILE": "/run/secrets/receptionist/ari_password",
        "RECEPTIONIST_SECRETS_DIR": str(secret_dir),
        "RECEPTIONIST_ASTERISK_LOCAL": str(local),
        "RECEPTIONIST_ARI_URL": f"http://127.0.0.1:{ari_port}",
        "RECEPTIONIST_AUDIOSOCKET_PORT": str(free_port()),
        "RECEPTIONIST_METRICS_PORT": str(metrics_port),
        # No OPENAI_API_KEY: the documented no-key start, every call takes the fallback.
    }
    # Compose lets the process environment win over the env file: keep the caller's out.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECEPTIONIST_", "OPENAI_"))}
    env["PIP_EXTRA_CA"] = docker_engine.extra_ca_bundle()  # multi-line: not for an env file
    built = Stack(engine, work / ".env", settings, env, sip_port, metrics_port, password)
    built.write_env_file()
    started = time.monotonic()
    try:
        # The README's command: build and start in one.
        built.compose("up", "-d", "--build", what="compose up -d --build")
        wait_healthy(built, "asterisk", "receptionist")
        TIMINGS["compose up --build until healthy"] = time.monotonic() - started
        yield built
    finally:
        started = time.monotonic()
        try:
            logs = built.compose("logs", "--no-color", "--tail", "40")
        except EngineError as error:
            logs = str(error)
        print("docker-test: last container log lines:\n" + logs[-6000:], file=sys.stderr)
        built.compose("down", "-v", "--remove-orphans", what="compose down")
        shutil.rmtree(work, ignore_errors=True)
        TIMINGS["compose down"] = time.monotonic() - started


def wait_healthy(stack: Stack, *services: str) -> None:
    """Until Docker's HEALTHCHECK says healthy; any container that exits fails at once."""
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        states = {service: stack.health(service) for service in services}
        if all(state == "healthy" for state in states.values()):
            return
        ids = stack.compose("ps", "-q").split()
        for line in stack.engine("inspect", "--format", "{{json .State}}", *ids).splitlines():
            state = json.loads(line)
            if state["Status"] in ("exited", "dead") or state["Restarting"]:
                raise AssertionError(f"a container stopped while starting: {state}")
        time.sleep(1)
    raise AssertionError(f"not healthy after {HEALTHY_TIMEOUT_S:.0f} s: {states}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("docker-test")
    for note in docker_engine.NOTES:
        terminalreporter.write_line(note)
    terminalreporter.write_line("timings (seconds):")
    for phase, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{phase:<34} {seconds:7.1f}")
    terminalreporter.write_line(f"{'total of the phases':<34} {sum(TIMINGS.values()):7.1f}")
