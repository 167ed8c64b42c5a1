"""Start and stop a real Asterisk 22 inside the cached chroot, on loopback ports.

Each sandbox has a name and a per-run directory inside the chroot holding its
rendered configs, logs, spool and control socket. Asterisk runs in its own
mount and PID namespace (`unshare`), so `/proc` is mounted only for it and
nothing outlives it: when Asterisk (PID 1 there) exits, the mount goes too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from receptionist.sandbox.audio import write_tone
from receptionist.sandbox.chroot import (
    Progress,
    SandboxError,
    _print_progress,
    ensure_chroot,
)
from receptionist.sandbox.profile import Profile, load_profile, new_passwords, save_profile
from receptionist.sandbox.state import SandboxInfo, alive, kill, read_state, state_file, stop

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__file__).with_name("templates")
PHONES = ("201", "202")  # for softphones to register as
# The sandbox trunk is whoever sends from this loopback address (sipp in tests), so
# softphones on 127.0.0.1 are identified by their user name, as desk phones.
TRUNK_HOST = "127.0.0.2"
# 203 is a desk phone with a fixed address, answered by `sipp` (a UAS) in tests.
SIPP_PHONE = "203"
# Present but empty, so Asterisk starts quietly with built-in defaults.
EMPTY_CONFIGS = (
    "cdr.conf", "cel.conf", "features.conf",
    "acl.conf", "udptl.conf", "pjproject.conf", "ccss.conf", "websocket_client.conf",
)  # fmt: skip
HOLD_MUSIC_HZ = 600  # the sandbox's hold music: a tone tests can recognise
READY_TIMEOUT = 30.0
ARI_AFTER_BOOT = 3.0  # "Asterisk Ready." logged, yet no ARI this long after: give up


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def entity_id(name: str) -> str:
    """A sandbox's Asterisk entity id: a locally administered address made from its name.
    Asterisk would take the host's hardware address, the same for every sandbox here."""
    digest = hashlib.sha256(name.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def check_port_free(port: int, kind: int = socket.SOCK_STREAM) -> None:
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            # Connections of the last run in TIME_WAIT don't make a port busy (a listener does).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SandboxError(f"port {port} on 127.0.0.1 is taken: {exc.strerror}") from exc


def _rtp_range() -> tuple[int, int]:
    """A run of 40 free UDP ports (20 calls), so parallel sandboxes don't collide."""
    for _ in range(50):
        start = secrets.randbelow(20000) * 2 + 20000
        try:
            for port in range(start, start + 40, 7):
                check_port_free(port, socket.SOCK_DGRAM)
        except SandboxError:
            continue
        return start, start + 39
    raise SandboxError("no free UDP range for RTP between 20000 and 60000")


def _render(template: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise SandboxError(f"template {template} has an unfilled placeholder")
    return text


def _ari_get(url: str, user: str, password: str, timeout: float = 2.0) -> dict[str, object]:
    request = urllib.request.Request(url)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        result: dict[str, object] = json.load(response)
        return result


class Sandbox:
    """One named Asterisk sandbox. `start()` returns when ARI answers."""

    def __init__(
        self,
        name: str = "default",
        *,
        app: str = "receptionist",
        people_app: str = "sandbox-people",
        http_port: int | None = None,
        sip_port: int | None = None,
        audiosocket_port: int | None = None,
        transfer_timeout: int = 8,
        persist: bool = False,
        config_overrides: Mapping[str, str] | None = None,
        progress: Progress = _print_progress,
    ) -> None:
        self.name = name
        self.app = app
        self.people_app = people_app
        self.http_port = http_port
        self.sip_port = sip_port
        self.audiosocket_port = audiosocket_port
        self.transfer_timeout = transfer_timeout
        # Keep ports and passwords across starts (for softphones); tests use fresh ones.
        self.persist = persist
        # File name -> full text, written over the rendered configs (to try a config).
        self.config_overrides = dict(config_overrides or {})
        self.progress = progress
        self.info: SandboxInfo | None = None

    # ------------------------------------------------------------------ paths
    def _paths(self, root: Path) -> tuple[Path, str]:
        inside = f"/srv/receptionist-sandbox/{self.name}"
        return root / inside.lstrip("/"), inside

    # ------------------------------------------------------------------ start
    def start(self) -> SandboxInfo:
        existing = read_state(self.name)
        if existing is not None and alive(existing.pid):
            raise SandboxError(
                f"sandbox {self.name!r} is already running (pid {existing.pid}); "
                "stop it with `receptionist sandbox down`"
            )
        report = ensure_chroot(self.progress)
        root = report.path
        started = time.monotonic()
        profile = self._profile()
        check_port_free(profile.http_port)
        check_port_free(profile.sip_port, socket.SOCK_DGRAM)
        if self.persist:
            save_profile(self.name, profile)
        http_port, sip_port = profile.http_port, profile.sip_port
        audiosocket_port = profile.audiosocket_port
        ari_password, sip_password = profile.ari_password, profile.sip_password
        rtp_start, rtp_end = _rtp_range()
        host_run, run = self._paths(root)
        if host_run.exists():
            shutil.rmtree(host_run)
        for sub in ("etc", "log", "run", "lib/keys", "cache", "spool/recording", "moh"):
            (host_run / sub).mkdir(parents=True, exist_ok=True)
        self._install_sounds(root)
        write_tone(host_run / "moh" / "hold.wav", HOLD_MUSIC_HZ, 2.0)
        values = {
            "run": run,
            "http_port": str(http_port),
            "sip_port": str(sip_port),
            "rtp_start": str(rtp_start),
            "rtp_end": str(rtp_end),
            "ari_user": "receptionist",
            "ari_password": ari_password,
            "app": self.app,
            "people_app": self.people_app,
            "transfer_timeout": str(self.transfer_timeout),
            "trunk_host": TRUNK_HOST,
            "name": self.name,
            "entity_id": entity_id(self.name),
        }
        sipp_port = free_port(kind=socket.SOCK_DGRAM)
        far_end_port = free_port(kind=socket.SOCK_DGRAM)
        values["far_end_port"] = str(far_end_port)
        values["phones"] = "\n".join(
            _render("phone.conf", {"ext": ext, "sip_password": sip_password}) for ext in PHONES
        ) + _render("sipp-phone.conf", {"ext": SIPP_PHONE, "port": str(sipp_port)})
        etc = host_run / "etc"
        for name in (
            "asterisk.conf", "http.conf", "ari.conf", "logger.conf",
            "rtp.conf", "pjsip.conf", "extensions.conf", "indications.conf",
            "musiconhold.conf", "voicemail.conf",
        ):  # fmt: skip
            (etc / name).write_text(_render(name, values))
        # The real files an admin installs, unchanged: the sandbox proves them.
        shutil.copy(REPO / "asterisk" / "modules.conf", etc / "modules.conf")
        shutil.copy(REPO / "dialplan" / "receptionist.conf", etc / "receptionist.conf")
        for empty in EMPTY_CONFIGS:
            (etc / empty).write_text("")

        for name, text in self.config_overrides.items():
            (etc / name).write_text(text)
        ari_url = f"http://127.0.0.1:{http_port}"
        pid, version = self._launch(root, run, ari_url, ari_password)
        info = SandboxInfo(
            name=self.name,
            pid=pid,
            run_dir=str(host_run),
            ari_url=ari_url,
            ari_user="receptionist",
            ari_password=ari_password,
            app=self.app,
            people_app=self.people_app,
            audiosocket=f"127.0.0.1:{audiosocket_port}",
            sip_host="127.0.0.1",
            trunk_host=TRUNK_HOST,
            sip_port=sip_port,
            sip_extensions=PHONES,
            sip_password=sip_password,
            sipp_phone=SIPP_PHONE,
            sipp_phone_port=sipp_port,
            far_end_port=far_end_port,
            chroot=str(root),
            asterisk_version=version,
            start_seconds=round(time.monotonic() - started, 2),
            build_seconds=round(report.seconds, 1) if report.built else None,
        )
        state = state_file(self.name)
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(info.to_json())
        state.chmod(0o600)  # holds the ARI password
        self.info = info
        self.progress(f"Asterisk {version} ready in {info.start_seconds:.1f} s")
        return info

    def _profile(self) -> Profile:
        """Ports and passwords: given, else saved (persist), else new."""
        saved = load_profile(self.name) if self.persist else None
        ari_password, sip_password = new_passwords()
        return Profile(
            http_port=self.http_port or (saved.http_port if saved else free_port()),
            sip_port=self.sip_port
            or (saved.sip_port if saved else free_port(kind=socket.SOCK_DGRAM)),
            audiosocket_port=self.audiosocket_port
            or (saved.audiosocket_port if saved else free_port()),
            ari_password=saved.ari_password if saved else ari_password,
            sip_password=saved.sip_password if saved else sip_password,
        )

    def _launch(self, root: Path, run: str, ari_url: str, password: str) -> tuple[int, str]:
        """Start Asterisk on the rendered configs; return (pid, version) once ARI answers."""
        host_run = root / run.lstrip("/")
        log_path = host_run / "log" / "full.log"
        log_path.unlink(missing_ok=True)
        console = open(host_run / "log" / "console.log", "wb")  # noqa: SIM115 (child owns it)
        command = chroot_command(
            root, "asterisk", "-C", f"{run}/etc/asterisk.conf", "-f", "-n", "-g"
        )
        self.progress(f"starting Asterisk ({self.name}) at {ari_url}")
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        console.close()
        return proc.pid, self._wait_ready(proc, ari_url, password, log_path)

    def restart(self) -> SandboxInfo:
        """Stop Asterisk and start it again on the same ports and credentials (as after
        an admin's `core restart`): clients must reconnect by themselves."""
        if self.info is None:
            raise SandboxError("restart() needs a started sandbox")
        info = self.info
        kill(info.pid)
        run = "/" + str(Path(info.run_dir).relative_to(info.chroot))
        pid, _ = self._launch(Path(info.chroot), run, info.ari_url, info.ari_password)
        self.info = replace(info, pid=pid)
        state_file(self.name).write_text(self.info.to_json())
        return self.info

    def _install_sounds(self, root: Path) -> None:
        # sounds/NAME.wav -> sounds/receptionist/, sounds/<lang>/NAME.wav ->
        # sounds/<lang>/receptionist/: Asterisk picks the folder by CHANNEL(language).
        sounds = root / "usr/share/asterisk/sounds"
        for sound in [*(REPO / "sounds").glob("*.wav"), *(REPO / "sounds").glob("*/*.wav")]:
            folder = sound.parent.relative_to(REPO / "sounds")
            target = sounds / folder / "receptionist"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(sound, target / sound.name)

    def _wait_ready(
        self, proc: subprocess.Popen[bytes], ari_url: str, password: str, log_path: Path
    ) -> str:
        deadline = time.monotonic() + READY_TIMEOUT
        booted_at: float | None = None
        while time.monotonic() < deadline:
            if booted_at is None and "Asterisk Ready." in _read(log_path):
                booted_at = time.monotonic()
            if booted_at is not None and time.monotonic() - booted_at > ARI_AFTER_BOOT:
                kill(proc.pid)
                raise SandboxError(
                    f"Asterisk started but ARI does not answer at {ari_url}: a module or "
                    "config was rejected\n" + _error_lines(log_path)
                )
            if proc.poll() is not None:
                raise SandboxError(
                    f"Asterisk exited with code {proc.returncode} while starting\n"
                    + _error_lines(log_path, Path(log_path).with_name("console.log"))
                )
            try:
                info = _ari_get(f"{ari_url}/ari/asterisk/info", "receptionist", password)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
                continue
            system = info.get("system")
            return str(system.get("version", "?")) if isinstance(system, dict) else "?"
        kill(proc.pid)
        raise SandboxError(
            f"ARI did not answer at {ari_url} within {READY_TIMEOUT:.0f} s\n"
            + _error_lines(log_path, Path(log_path).with_name("console.log"))
        )

    # ------------------------------------------------------------------ stop
    def stop(self) -> bool:
        return stop(self.name)

    def __enter__(self) -> SandboxInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def chroot_command(root: Path | str, *argv: str) -> list[str]:
    """Run `argv` inside the chroot in its own mount+PID namespace with a private /proc."""
    return [
        "unshare", "--mount", "--pid", "--fork", "--kill-child", f"--mount-proc={root}/proc",
        "chroot", str(root), *argv,
    ]  # fmt: skip


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _error_lines(*paths: Path) -> str:
    lines: list[str] = []
    for path in paths:
        if path.is_file():
            text = path.read_text(errors="replace").splitlines()
            lines += [line for line in text if "ERROR" in line or "WARNING" in line]
    return "\n".join(lines[-20:]) or "(Asterisk logged no error line)"
