"""`serve` says clearly when its web page's port is taken, and stops cleanly."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from receptionist.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_serve_reports_a_taken_web_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for name, value in {
            "ARI_PASSWORD": "secret", "ARI_URL": "http://127.0.0.1:9",  # nothing listens
            "WEB_PORT": str(port), "METRICS_PORT": "0", "AUDIOSOCKET_PORT": "0",
            "DATABASE": str(tmp_path / "calls.db"),
            "BUSINESSES_DIR": str(REPO / "config" / "businesses"),
        }.items():  # fmt: skip
            monkeypatch.setenv(f"RECEPTIONIST_{name}", value)
        monkeypatch.chdir(tmp_path)
        assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert "cannot listen" in err and str(port) in err and "Traceback" not in err
