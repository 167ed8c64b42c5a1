"""`receptionist serve` refuses to start, with one clear line, when it cannot serve."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import EXAMPLE


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    """`receptionist serve` as a process: a serve that wrongly starts is stopped by the timeout."""
    command = [sys.executable, "-m", "receptionist.cli", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=os.environ)


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECEPTIONIST_SETTINGS", raising=False)
    monkeypatch.setenv("RECEPTIONIST_ARI_PASSWORD", "pw")
    monkeypatch.setenv("RECEPTIONIST_ARI_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("RECEPTIONIST_BUSINESSES_DIR", str(tmp_path / "businesses"))
    monkeypatch.setenv("RECEPTIONIST_DATABASE", str(tmp_path / "calls.db"))
    (tmp_path / "businesses").mkdir()


@pytest.mark.parametrize("files", [{}, {"broken.yaml": "name: [\n"}])
def test_serve_without_a_valid_business_refuses_to_start(
    tmp_path: Path, files: dict[str, str]
) -> None:
    for name, text in files.items():
        (tmp_path / "businesses" / name).write_text(text)
    result = serve()
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert err[-1] == (
        f"receptionist serve: no valid business file in {tmp_path / 'businesses'}: not starting"
    )
    assert len(err) == 1 + len(files)
    assert all("Traceback" not in line for line in err)


PORTS = ("RECEPTIONIST_AUDIOSOCKET_PORT", "RECEPTIONIST_METRICS_PORT", "RECEPTIONIST_WEB_PORT")


@pytest.mark.parametrize("setting", PORTS)
def test_a_port_in_use_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    shutil.copy(EXAMPLE, tmp_path / "businesses")
    for name in PORTS:
        monkeypatch.setenv(name, "0")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv(setting, str(port))
        result = serve()
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "receptionist serve" in line]
    assert line.startswith("receptionist serve: cannot listen: ")
    assert f"('127.0.0.1', {port})" in line and "address already in use" in line
    assert "web page: http" not in result.stdout  # said only once the page listens


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_on_a_signal_before_ari_was_ever_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    shutil.copy(EXAMPLE, tmp_path / "businesses")
    for name in PORTS:
        monkeypatch.setenv(name, "0")
    command = [sys.executable, "-m", "receptionist.cli", "serve"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          text=True, env=os.environ) as process:  # fmt: skip
        assert process.stderr is not None
        seen: list[str] = []
        # Running, and failing to reach ARI (nothing listens on port 9): the state in
        # which a misconfigured serve used to ignore Ctrl-C and systemctl stop.
        for line in process.stderr:
            seen.append(line)
            if "ari events unavailable" in line:
                break
        assert seen and "ari events unavailable" in seen[-1], "".join(seen)
        process.send_signal(sig)
        try:
            code = process.wait(timeout=20)  # the old serve never ended here
        finally:
            process.kill()
        rest = process.stderr.read()
    assert code == 0, rest
    assert "stopping before ARI was ever reached" in rest
    assert "ari_url=http://127.0.0.1:9" in rest
    assert "Traceback" not in rest


def test_serve_stops_on_sigterm_while_starting(tmp_path: Path) -> None:
    """Before the event loop runs (imports, the early reclaim), SIGTERM stops it too."""
    code = (
        "import os, signal, sys\n"
        "from receptionist.cli import serve\n"
        "def starting(args):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    raise AssertionError('still running')\n"
        "serve._serve = starting\n"
        "sys.exit(serve._serve_until_stopped(None))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30, env=os.environ)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "receptionist serve: stopped by SIGTERM while starting"
