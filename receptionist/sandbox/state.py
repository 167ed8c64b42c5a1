"""A running sandbox's details on disk, and stopping it: shared by the CLI's commands."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from receptionist.sandbox.chroot import cache_dir


@dataclass(frozen=True)
class SandboxInfo:
    """Everything a client needs to reach a running sandbox."""

    name: str
    pid: int
    run_dir: str  # host path of the per-run directory
    ari_url: str
    ari_user: str
    ari_password: str
    app: str
    people_app: str
    audiosocket: str  # host:port the receptionist's AudioSocket server listens on
    sip_host: str
    sip_port: int
    trunk_host: str  # SIP from this address is the trunk; from elsewhere, phones
    sip_extensions: tuple[str, ...]
    sip_password: str
    sipp_phone: str  # a desk phone whose calls a `sipp` UAS on sipp_phone_port answers
    sipp_phone_port: int
    chroot: str
    asterisk_version: str
    start_seconds: float
    build_seconds: float | None
    far_end_port: int = 0  # [sandbox-outbound] dials the trunk's address on this port

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def state_file(name: str) -> Path:
    return cache_dir() / "sandboxes" / f"{name}.json"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill(pid: int, grace: float = 5.0) -> None:
    """End the unshare process group; Asterisk is its PID 1, so the namespace goes too."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = 0 if alive(pid) else pid
            if done or not alive(pid):
                return
            time.sleep(0.05)


def read_state(name: str = "default") -> SandboxInfo | None:
    path = state_file(name)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    data["sip_extensions"] = tuple(data["sip_extensions"])
    data.setdefault("trunk_host", "127.0.0.1")  # state written before the trunk moved
    return SandboxInfo(**data)


def status(name: str = "default") -> SandboxInfo | None:
    """The running sandbox's info, or None (a stale state file is removed)."""
    info = read_state(name)
    if info is None:
        return None
    if not alive(info.pid):
        state_file(name).unlink(missing_ok=True)
        return None
    return info


def stop(name: str = "default") -> bool:
    """Stop the named sandbox. Returns False if it was not running."""
    info = read_state(name)
    if info is None:
        return False
    kill(info.pid)
    state_file(name).unlink(missing_ok=True)
    shutil.rmtree(info.run_dir, ignore_errors=True)
    return True
