"""Build and cache the Debian sid chroot that holds the sandbox Asterisk.

Debian stable has no asterisk package; sid ships Asterisk 22. The chroot is built
once with debootstrap and cached outside the checkout, so later runs start in
seconds. Everything runs unattended and fails fast with a plain reason.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# Packages installed into the chroot: Asterisk itself, and sipp to place real SIP calls.
PACKAGES = ("asterisk", "asterisk-modules", "sip-tester")
SUITE = "sid"
MIN_FREE_BYTES = 2 * 1024**3
STAMP = ".receptionist-chroot"
# Bumped when PACKAGES or the build steps change, so a stale cache is rebuilt.
CHROOT_VERSION = "1"

Progress = Callable[[str], None]


class SandboxError(RuntimeError):
    """A plain-language reason the sandbox cannot be built or started."""


@dataclass(frozen=True)
class BuildReport:
    path: Path
    built: bool
    seconds: float


def cache_dir() -> Path:
    """Where the chroot and sandbox state live: RECEPTIONIST_CACHE_DIR, else the user cache."""
    explicit = os.environ.get("RECEPTIONIST_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "receptionist"


def chroot_path() -> Path:
    return cache_dir() / f"asterisk-{SUITE}"


def _print_progress(message: str) -> None:
    print(f"sandbox: {message}", file=sys.stderr, flush=True)


def debian_mirror(sources: list[Path] | None = None) -> str:
    """The Debian mirror this machine's apt already uses (or RECEPTIONIST_DEBIAN_MIRROR)."""
    override = os.environ.get("RECEPTIONIST_DEBIAN_MIRROR")
    if override:
        return override
    candidates: list[str] = []
    if sources is None:
        apt = Path("/etc/apt")
        sources = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        candidates += re.findall(r"^\s*URIs:\s*(\S+)", text, re.MULTILINE)
        candidates += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.MULTILINE)
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri
    raise SandboxError(
        "no Debian mirror found in apt's sources; set RECEPTIONIST_DEBIAN_MIRROR to one"
    )


def _check_reachable(mirror: str) -> None:
    parts = urlsplit(mirror)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=10):
            pass
    except OSError as exc:
        raise SandboxError(
            f"no route to the Debian package registry ({parts.hostname}): {exc}"
        ) from exc


def _check_preconditions(target: Path) -> None:
    if os.geteuid() != 0:
        raise SandboxError("the Asterisk sandbox is a chroot: run as root")
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < MIN_FREE_BYTES:
        raise SandboxError(
            f"disk full: {free // 1024**2} MiB free under {target.parent}, "
            f"need {MIN_FREE_BYTES // 1024**2} MiB"
        )


def _run(cmd: list[str], what: str, progress: Progress) -> None:
    progress(what)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SandboxError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _ensure_debootstrap(progress: Progress) -> None:
    if shutil.which("debootstrap"):
        return
    _run(["apt-get", "update", "-q"], "apt-get update (to install debootstrap)", progress)
    _run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "debootstrap"],
        "installing debootstrap",
        progress,
    )


def is_built(path: Path | None = None) -> bool:
    stamp = (path or chroot_path()) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == CHROOT_VERSION


def ensure_chroot(progress: Progress = _print_progress) -> BuildReport:
    """Return the cached chroot, building it first if needed."""
    target = chroot_path()
    started = time.monotonic()
    if is_built(target):
        return BuildReport(target, built=False, seconds=time.monotonic() - started)
    _check_preconditions(target)
    mirror = debian_mirror()
    _check_reachable(mirror)
    _ensure_debootstrap(progress)
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    _run(
        ["debootstrap", "--variant=minbase", SUITE, str(partial), mirror],
        f"debootstrap {SUITE} (about a minute)",
        progress,
    )
    apt = ["chroot", str(partial), "apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false"]
    _run([*apt, "update"], "apt-get update in the chroot", progress)
    env_install = [
        "chroot", str(partial), "env", "DEBIAN_FRONTEND=noninteractive",
        "apt-get", "-q", "-y", "-o", "Acquire::Check-Valid-Until=false",
        "install", "--no-install-recommends", *PACKAGES,
    ]  # fmt: skip
    _run(env_install, f"installing {' '.join(PACKAGES)} in the chroot", progress)
    # Debian's postinst may start nothing in a chroot, but be sure no daemon survives.
    subprocess.run(["chroot", str(partial), "apt-get", "clean"], check=False)
    (partial / STAMP).write_text(CHROOT_VERSION + "\n")
    if target.exists():
        shutil.rmtree(target)
    partial.rename(target)
    seconds = time.monotonic() - started
    progress(f"chroot built in {seconds:.1f} s at {target}")
    return BuildReport(target, built=True, seconds=seconds)
