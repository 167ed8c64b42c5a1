"""`receptionist serve` refuses to start, with one clear line, when it cannot serve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


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
