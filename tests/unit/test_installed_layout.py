"""The Debian/Ubuntu layout the README installs (/etc/receptionist, /var/lib/receptionist),
made under a temporary root: every command finds its settings and data from any
directory, the way an admin runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from receptionist.cli import main
from receptionist.store.log import Store

REPO = Path(__file__).resolve().parents[2]
RECEPTIONIST = Path(sys.executable).with_name("receptionist")  # the installed command


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """etc/receptionist/{receptionist.yaml,businesses/} and var/lib/receptionist/ with a call."""
    etc = tmp_path / "etc" / "receptionist"
    (etc / "businesses").mkdir(parents=True)
    data = tmp_path / "var" / "lib" / "receptionist"
    data.mkdir(parents=True)
    (etc / "businesses" / "example-dental.yaml").write_text(
        (REPO / "config" / "businesses" / "example-dental.yaml").read_text()
    )
    (etc / "receptionist.yaml").write_text(
        f"database: {data}/receptionist.db\nbusinesses_dir: businesses\n"
        "default_business: example-dental\n"
    )
    store = Store(data / "receptionist.db")
    store.start_call("call-on-the-pbx", "example-dental", "+15550001111", "chan-1")
    store.close()
    return etc / "receptionist.yaml"


@pytest.mark.parametrize("cwd", ["/", "/tmp", "home"])
def test_calls_list_from_any_directory(layout: Path, tmp_path: Path, cwd: str) -> None:
    where = tmp_path / cwd if cwd == "home" else Path(cwd)
    where.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTIONIST_")}
    env["RECEPTIONIST_SETTINGS"] = str(layout)  # as the systemd unit sets it
    for args in (["calls", "list"], ["config", "check"]):
        result = subprocess.run(
            [str(RECEPTIONIST), *args], cwd=where, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        if args[0] == "calls":
            assert "call-on-the-pbx" in result.stdout


def test_settings_in_etc_found_without_any_variable(
    layout: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An admin's shell has no RECEPTIONIST_SETTINGS: /etc/receptionist is searched
    # (here the temporary root's etc stands in for /etc).
    monkeypatch.delenv("RECEPTIONIST_SETTINGS", raising=False)
    monkeypatch.setattr(
        "receptionist.settings.SEARCH_PATH", (Path("config/receptionist.yaml"), layout)
    )
    monkeypatch.chdir("/")
    assert main(["calls", "list"]) == 0
    assert "call-on-the-pbx" in capsys.readouterr().out
